package org.moe4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moe4j.autograd.Variable;
import org.moe4j.io.SafetensorsFile;
import org.moe4j.io.hf.HfCheckpoint;
import org.moe4j.io.hf.HfModel;
import org.moe4j.io.tokenizer.SpmTokenizer;
import org.moe4j.model.TransformerLm;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.Tensor;

/**
 * GGUF files written by llama.cpp's own converter (convert_hf_to_gguf.py, release v0.5.0) from the Hugging Face
 * fixtures, made by tools/golden/make_llamacpp_converted_fixtures.py: each loads, is the same model as the checkpoint
 * it came from, and gives PyTorch's logits (test resources hf/&lt;arch&gt;/expected.safetensors, or the script's own for
 * the all-MoE variants of Qwen2-MoE and Qwen3-MoE that llama.cpp needs) and greedy tokens. The Q8_0 files are held
 * to PyTorch's logits of their dequantized weights.
 */
class LlamaCppConvertedTest {
    private static final Map<String, GgufArchitecture> ARCH = Map.of("mixtral", GgufArchitecture.LLAMA, "qwen2_moe",
            GgufArchitecture.QWEN2MOE, "qwen3_moe", GgufArchitecture.QWEN3MOE, "olmoe", GgufArchitecture.OLMOE,
            "deepseek", GgufArchitecture.DEEPSEEK);

    static Path resource(String path) {
        URL url = LlamaCppConvertedTest.class.getResource("/" + path);
        assertNotNull(url, "test resource " + path + " is missing; run tools/golden/make_llamacpp_converted_fixtures.py");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path expected(String arch, String type) {
        String own = "gguf-converted/" + arch + "-" + type + ".expected.safetensors";
        return LlamaCppConvertedTest.class.getResource("/" + own) != null ? resource(own)
                : resource("hf/" + arch + "/expected.safetensors");
    }

    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "deepseek"})
    void f32LogitsAndGreedyTokensMatchPyTorch(String arch) {
        GgufModel.Loaded loaded = GgufModel.load(resource("gguf-converted/" + arch + "-f32.gguf"));
        assertEquals(ARCH.get(arch), loaded.architecture());
        // measured: 3.4e-7 .. 1.1e-6 of the largest logit (float rounding)
        agree(arch + " f32", loaded.model(), expected(arch, "f32"), 1e-4);
    }

    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "olmoe", "deepseek"})
    void theConvertedFileHoldsTheCheckpointsModelExactly(String arch) {
        // the converter stored F32 (OLMoE's F16 widened exactly); Q and K rows are in llama.cpp's rotary order
        HfModel hf = HfCheckpoint.load(resource("hf/" + arch + "/config.json").getParent());
        TransformerLm gguf = GgufModel.load(resource("gguf-converted/" + arch + "-f32.gguf")).model();
        // GGUF has no load-balancing loss weight (a training setting): the reader takes moe4j's default
        assertEquals(hf.model().config().withLossWeights(0.01, 0), gguf.config());
        Map<String, Variable> a = hf.model().namedParameters(), b = gguf.namedParameters();
        assertEquals(a.keySet(), b.keySet());
        for (String name : a.keySet()) {
            assertArrayEquals(a.get(name).value().toFloatArray(), b.get(name).value().toFloatArray(), arch + " " + name);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mixtral-q8_0", "mixtral-q8_0-fused-qkv", "qwen2_moe-q8_0-fused-qkv"})
    void q8_0MatchesPyTorchOnTheDequantizedWeights(String name) {
        Path file = resource("gguf-converted/" + name + ".gguf");
        if (name.endsWith("-fused-qkv")) { // --fuse-qkv: one attn_qkv per layer (and its bias for Qwen2-MoE)
            try (GgufFile f = GgufFile.open(file)) {
                assertTrue(f.contains("blk.0.attn_qkv.weight") && !f.contains("blk.0.attn_q.weight"), name);
                assertEquals(name.startsWith("qwen2"), f.contains("blk.0.attn_qkv.bias"), name);
            }
        }
        GgufModel.Loaded held = GgufModel.loadForInference(file);
        assertFalse(held.model().namedQuantized().isEmpty(), "the Q8_0 matrices are held quantized");
        Path expected = expected(name.substring(0, name.indexOf("-q8_0")), "q8_0");
        // measured: held quantized 2.9e-7 .. 5.5e-7, dequantized to float32 2.9e-7 .. 4.3e-7
        agree(name + " held", held.model(), expected, 1e-4);
        agree(name + " dequantized", GgufModel.load(file).model(), expected, 1e-4);
    }

    @Test
    void theConvertedTokenizersAreRead() {
        // Mixtral's tokenizer.model became a "llama" vocabulary with scores
        GgufModel.Loaded mixtral = GgufModel.load(resource("gguf-converted/mixtral-f32.gguf"));
        SpmTokenizer spm = assertInstanceOf(SpmTokenizer.class, mixtral.tokenizer().orElseThrow());
        assertEquals(64, spm.vocabSize());
        assertEquals("the face of god", spm.decode(spm.encode("the face of god")));
        // the others hold 64-id byte-level BPE vocabularies, too small for the 256 bytes: read as no tokenizer, said why
        for (String arch : new String[] {"qwen2_moe", "qwen3_moe", "olmoe", "deepseek"}) {
            GgufModel.Loaded g = GgufModel.load(resource("gguf-converted/" + arch + "-f32.gguf"));
            assertTrue(g.tokenizer().isEmpty(), arch);
            assertTrue(g.tokenizerNote().contains("has no token for byte"), arch + ": " + g.tokenizerNote());
        }
    }

    @Test
    void aConvertedFileRewrittenByMoe4jKeepsItsModelAndTokenizer(@TempDir Path tmp) {
        GgufModel.Loaded a = GgufModel.load(resource("gguf-converted/mixtral-f32.gguf"));
        Path file = tmp.resolve("again.gguf");
        SpmTokenizer tokenizer = (SpmTokenizer) a.tokenizer().orElseThrow();
        assertEquals("", GgufModel.save(a.model(), a.architecture(), tokenizer, QuantFormat.F32, file,
                GgufModel.Progress.NONE));
        GgufModel.Loaded b = GgufModel.load(file);
        int[] prompt = {1, 5, 9, 2, 7};
        assertArrayEquals(GgufModelTest.logits(a.model(), prompt).toFloatArray(),
                GgufModelTest.logits(b.model(), prompt).toFloatArray());
        SpmTokenizer back = (SpmTokenizer) b.tokenizer().orElseThrow(() -> new AssertionError(b.tokenizerNote()));
        assertEquals(tokenizer.tokens(), back.tokens());
        assertArrayEquals(tokenizer.scores(), back.scores());
        assertEquals(tokenizer.settings(), back.settings());
        assertArrayEquals(tokenizer.encode("the face of the deep", true), back.encode("the face of the deep", true));
    }

    /** Logits within {@code tolerance} of the largest expected logit, and the same greedy tokens. */
    private static void agree(String name, TransformerLm model, Path expectedFile, double tolerance) {
        try (SafetensorsFile expected = SafetensorsFile.open(expectedFile)) {
            int[] prompt = ids(expected.metadata().get("prompt"));
            int[] greedy = ids(expected.metadata().get("greedy"));
            float[] want = expected.tensor("logits").toFloatArray();
            Tensor logits = GgufModelTest.logits(model, prompt);
            float[] got = logits.toFloatArray();
            assertEquals(want.length, got.length, name + " logits");
            double scale = 0, err = 0;
            for (float v : want) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
            double relative = err / scale;
            System.out.printf("%s: max |diff| / max |logit| = %.2e%n", name, relative);
            assertTrue(relative < tolerance, name + ": relative difference " + relative + " over " + tolerance);
            assertArrayEquals(greedy, GgufGreedy.greedy(model, prompt, greedy.length), name + " greedy tokens");
        }
    }

    private static int[] ids(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
