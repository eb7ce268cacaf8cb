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

        // Our own float32 run of the file (every tensor decoded), against the decoded weights written as an F32 GGUF
        // and read back, and converted to Hugging Face safetensors (as moe4j convert --to DIR does): the same bits.
        GgufModel.Loaded decoded = GgufModel.load(file);
        float[] f32 = GgufModelTest.logits(decoded.model(), LlamaCppGoldenTest.PROMPT).toFloatArray();
        Path f32File = tmp.resolve("decoded-f32.gguf");
        GgufModel.save(decoded.model(), GgufArchitecture.LLAMA, null, QuantFormat.F32, f32File, GgufModel.Progress.NONE);
        float[] viaF32 = GgufModelTest.logits(GgufModel.load(f32File).model(), LlamaCppGoldenTest.PROMPT).toFloatArray();
        assertArrayEquals(f32, viaF32, "float32 load vs the decoded F32 file");
        Path hf = tmp.resolve("hf");
        HfCheckpoint.save(decoded.model(), GgufArchitecture.LLAMA.hf(), hf, SafetensorsDType.F32, null, Long.MAX_VALUE);
        float[] viaHf = GgufModelTest.logits(HfCheckpoint.load(hf).model(), LlamaCppGoldenTest.PROMPT).toFloatArray();
        assertArrayEquals(f32, viaHf, "float32 load vs the converted safetensors");

        // For inference Q3_K to Q6_K matrices stay packed; the other types are decoded at load.
        LoadedModel held = ModelLoader.load(file);
        assertEquals(Map.of("layers.0.attention.q.weight", QuantFormat.Q4_K, "layers.0.attention.k.weight", QuantFormat.Q5_K,
                "layers.0.attention.v.weight", QuantFormat.Q6_K, "layers.0.mlp.experts.up", QuantFormat.Q4_K,
                "head.weight", QuantFormat.Q3_K), formats(held.model()));
        assertTrue(held.description().contains("decoded to float32 at load: 1 Q4_1, 1 Q5_0, 1 Q5_1, 1 Q2_K tensors"),
                held.description());
        float[] got = GgufModelTest.logits(held.model(), LlamaCppGoldenTest.PROMPT).toFloatArray();
        closeToFloat32("mixed", f32, got);

        // llama.cpp on the same file rounds activations to Q8_K / Q8_0 / Q8_1 for its quantized dot products.
        agreesWithLlamaCpp("mixed", dir, got, held.model());
    }

    @Test
    void q4KMMixAgreesWithLlamaCpp() throws IOException {
        Path dir = fixture("q4_k_m");
        Path file = dir.resolve("model.gguf");
        LoadedModel held = ModelLoader.load(file);
        // llama-quantize fell back to Q5_0 for attn_output and Q8_0 for ffn_down (rows of 32 values)
        assertEquals(Map.of("layers.0.attention.q.weight", QuantFormat.Q4_K, "layers.0.attention.k.weight", QuantFormat.Q4_K,
                "layers.0.attention.v.weight", QuantFormat.Q6_K, "layers.0.mlp.experts.gate", QuantFormat.Q4_K,
                "layers.0.mlp.experts.up", QuantFormat.Q4_K, "layers.0.mlp.experts.down", QuantFormat.Q8_0,
                "head.weight", QuantFormat.Q6_K), formats(held.model()));
        assertTrue(held.description().contains("(7 matrices held 1 Q8_0, 4 Q4_K, 2 Q6_K, ")
                && held.description().contains("decoded to float32 at load: 1 Q5_0 tensors"), held.description());
        float[] got = GgufModelTest.logits(held.model(), LlamaCppGoldenTest.PROMPT).toFloatArray();
        closeToFloat32("q4_k_m", GgufModelTest.logits(GgufModel.load(file).model(), LlamaCppGoldenTest.PROMPT)
                .toFloatArray(), got);
        agreesWithLlamaCpp("q4_k_m", dir, got, held.model());
    }

    private static Map<String, QuantFormat> formats(TransformerLm model) {
        Map<String, QuantFormat> out = new TreeMap<>();
        model.namedQuantized().forEach((name, w) -> out.put(name, w.format()));
        return out;
    }

    /** Packed weights sum in DotGemm's order, the float32 load in the GEMM's (as in QuantizedInferenceTest). */
    private static void closeToFloat32(String name, float[] f32, float[] got) {
        double scale = 0, err = 0;
        for (float v : f32) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < f32.length; i++) err = Math.max(err, Math.abs(got[i] - f32[i]));
        assertTrue(err <= 1e-4 * scale, name + ": held vs all-float32 load: " + err / scale);
    }

    @Test
    void packedWeightRefusesTheReadOnlyFormats() {
        for (QuantFormat f : QuantFormat.values()) {
            assertEquals(f.canQuantize() || f.isKQuant() && f != QuantFormat.Q2_K, PackedWeight.supports(f),
                    f.toString());
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
    private static void agreesWithLlamaCpp(String name, Path dir, float[] got, TransformerLm model) throws IOException {
        double relative = relativeToLlamaCpp(dir, got);
        float[] unquantized = GgufModelTest.logits(GgufModelTest.randomModel(config(), 42), LlamaCppGoldenTest.PROMPT)
                .toFloatArray();
        double before = relativeToLlamaCpp(dir, unquantized);
        // greedy tokens are reported, not asserted: a near tie may fall either way under activation rounding
        int[] greedy = Arrays.stream(Files.readString(dir.resolve("greedy.txt")).strip().split(","))
                .mapToInt(Integer::parseInt).toArray();
        int[] ours = GgufGreedy.greedy(model, LlamaCppGoldenTest.PROMPT, greedy.length);
        System.out.printf("%s: max |diff| / max |logit| vs llama.cpp = %.2e (the model before quantization: %.2e),"
                + " greedy %s%n", name, relative, before, Arrays.equals(greedy, ours) ? "identical"
                : Arrays.toString(greedy) + " vs " + Arrays.toString(ours));
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
        return err / scale;
    }
}
