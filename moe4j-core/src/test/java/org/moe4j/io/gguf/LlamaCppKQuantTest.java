package org.moe4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.infer.LoadedModel;
import org.moe4j.infer.ModelLoader;
import org.moe4j.io.SafetensorsDType;
import org.moe4j.io.hf.HfCheckpoint;
import org.moe4j.kernel.PackedWeight;
import org.moe4j.model.TransformerConfig;
import org.moe4j.model.TransformerLm;
import org.moe4j.tensor.QuantFormat;

/**
 * GGUF files quantized by llama.cpp's own llama-quantize from a moe4j-written F32 model (see {@link #config()}) load
 * and compute: the Q4_K_M mix as llama-quantize chooses it, and a file with one tensor in each of Q2_K, Q3_K, Q4_K,
 * Q5_K, Q6_K, Q4_1, Q5_0 and Q5_1. The files and llama.cpp's logits on them come from
 * tools/golden/make_llamacpp_kquant_fixtures.sh (test resources llamacpp-kquants/).
 */
class LlamaCppKQuantTest {
    /** A small random LLAMA (Mixtral-style) MoE whose dModel-wide rows fill K-quant super-blocks of 256. */
    static TransformerConfig config() {
        return TransformerConfig.tiny().withDModel(256).withLayers(1).withAttention(2, 1, 16).withMoe(2, 2, 32)
                .withVocab(32).withMaxSeqLen(32);
    }

    /** The F32 file llama-quantize starts from: {@code java ... LlamaCppKQuantTest FILE}. */
    public static void main(String[] args) {
        TransformerLm model = GgufModelTest.randomModel(config(), 42);
        GgufModel.save(model, GgufArchitecture.LLAMA, null, QuantFormat.F32, Path.of(args[0]), GgufModel.Progress.NONE);
    }

    static Path fixture(String name) {
        URL url = LlamaCppKQuantTest.class.getResource("/llamacpp-kquants/" + name + "/model.gguf");
        assertTrue(url != null, "no fixture " + name + "; run tools/golden/make_llamacpp_kquant_fixtures.sh");
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void everyReadOnlyTypeLoadsAndComputesAsItsFloat32Decoding(@TempDir Path tmp) throws IOException {
        Path dir = fixture("mixed");
        Path file = dir.resolve("model.gguf");
        Map<GgmlType, Integer> types = new TreeMap<>();
        try (GgufFile f = GgufFile.open(file)) {
            for (GgufTensorInfo t : f.tensors()) types.merge(t.type(), 1, Integer::sum);
        }
        for (GgmlType t : new GgmlType[] {GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
                GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1}) {
            assertTrue(types.containsKey(t), "the fixture holds " + t + ": " + types);
        }

        LoadedModel loaded = ModelLoader.load(file);
        assertTrue(loaded.model().namedQuantized().isEmpty(), "nothing held quantized: " + loaded.model().namedQuantized());
        assertTrue(loaded.description().contains("decoded to float32 at load: 1 Q4_1, 1 Q5_0, 1 Q5_1, 1 Q2_K, 1 Q3_K,"
                + " 2 Q4_K, 1 Q5_K, 1 Q6_K tensors"), loaded.description());
        float[] got = GgufModelTest.logits(loaded.model(), LlamaCppGoldenTest.PROMPT).toFloatArray();

        // Our own float32 run of the same file: the decoded weights written as an F32 GGUF and read back.
        Path f32 = tmp.resolve("decoded-f32.gguf");
        GgufModel.Loaded decoded = GgufModel.load(file);
        GgufModel.save(decoded.model(), GgufArchitecture.LLAMA, null, QuantFormat.F32, f32, GgufModel.Progress.NONE);
        float[] viaF32 = GgufModelTest.logits(GgufModel.load(f32).model(), LlamaCppGoldenTest.PROMPT).toFloatArray();
        assertArrayEquals(viaF32, got, "inference load vs the decoded F32 file");

        // GGUF -> Hugging Face safetensors (moe4j convert --to DIR) keeps the decoded weights exactly.
        Path hf = tmp.resolve("hf");
        HfCheckpoint.save(decoded.model(), GgufArchitecture.LLAMA.hf(), hf, SafetensorsDType.F32, null, Long.MAX_VALUE);
        float[] viaHf = GgufModelTest.logits(HfCheckpoint.load(hf).model(), LlamaCppGoldenTest.PROMPT).toFloatArray();
        assertArrayEquals(got, viaHf, "inference load vs the converted safetensors");

        // llama.cpp on the same file rounds activations to Q8_K / Q8_0 / Q8_1 for its quantized dot products.
        agreesWithLlamaCpp("mixed", dir, got);
    }

    @Test
    void q4KMMixAgreesWithLlamaCpp() throws IOException {
        Path dir = fixture("q4_k_m");
        Path file = dir.resolve("model.gguf");
        LoadedModel held = ModelLoader.load(file);
        // llama-quantize fell back to Q8_0 for ffn_down (rows of 32): that one stays packed, the K-quants decode
        var quantized = held.model().namedQuantized();
        assertEquals(1, quantized.size(), quantized.toString());
        quantized.values().forEach(w -> assertEquals(QuantFormat.Q8_0, w.format()));
        assertTrue(held.description().contains("decoded to float32 at load: 1 Q5_0, 5 Q4_K, 2 Q6_K tensors"),
                held.description());
        float[] got = GgufModelTest.logits(held.model(), LlamaCppGoldenTest.PROMPT).toFloatArray();
        float[] want = GgufModelTest.logits(GgufModel.load(file).model(), LlamaCppGoldenTest.PROMPT).toFloatArray();
        double scale = 0, err = 0;
        for (float v : want) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
        // the packed Q8_0 product sums in another order than the float32 GEMM (as in QuantizedInferenceTest)
        assertTrue(err <= 1e-4 * scale, "held vs all-float32 load: " + err / scale);

        agreesWithLlamaCpp("q4_k_m", dir, got);
    }

    @Test
    void packedWeightRefusesTheReadOnlyFormats() {
        for (QuantFormat f : QuantFormat.values()) {
            assertEquals(f.canQuantize(), PackedWeight.supports(f), f.toString());
            if (PackedWeight.supports(f)) continue;
            var w = new org.moe4j.tensor.QuantizedTensor(f, 8, 256,
                    java.lang.foreign.MemorySegment.ofArray(new byte[(int) f.bytesFor(8 * 256)]));
            var e = org.junit.jupiter.api.Assertions.assertThrows(org.moe4j.common.Moe4jException.class,
                    () -> PackedWeight.of(w));
            assertTrue(e.getMessage().contains(f + " is not computed in place"), e.getMessage());
        }
    }

    /**
     * llama.cpp rounds the activations to Q8_K (Q8_0/Q8_1 for the legacy types) for its quantized dot products, so
     * its logits differ from ours by about 1e-2 of the largest (measured 1.5e-2 mixed, 1.8e-2 Q4_K_M); the float32
     * model before quantization differs by 0.17-0.37, so a decoding mistake would show.
     */
    private static void agreesWithLlamaCpp(String name, Path dir, float[] got) throws IOException {
        double relative = relativeToLlamaCpp(dir, got);
        float[] unquantized = GgufModelTest.logits(GgufModelTest.randomModel(config(), 42), LlamaCppGoldenTest.PROMPT)
                .toFloatArray();
        double before = relativeToLlamaCpp(dir, unquantized);
        System.out.printf("%s: max |diff| / max |logit| vs llama.cpp = %.2e (the model before quantization: %.2e)%n",
                name, relative, before);
        assertTrue(relative < 3e-2, name + ": relative difference to llama.cpp " + relative);
        assertTrue(before > 5 * relative, name + ": quantization changes the logits by " + before + ", too little to"
                + " tell a decoding mistake from llama.cpp's activation rounding (" + relative + ")");
    }

    private static double relativeToLlamaCpp(Path dir, float[] got) throws IOException {
        float[] want = LlamaCppGoldenTest.floats(dir.resolve("logits.f32"));
        assertEquals(want.length, got.length, "llama.cpp logits count");
        double scale = 0, err = 0;
        for (float v : want) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
        int[] greedy = Arrays.stream(Files.readString(dir.resolve("greedy.txt")).strip().split(","))
                .mapToInt(Integer::parseInt).toArray();
        assertEquals(8, greedy.length, "llama.cpp greedy tokens");
        return err / scale;
    }
}
