package org.moe4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.io.hf.HfCheckpoint;
import org.moe4j.io.hf.HfModel;
import org.moe4j.io.tokenizer.BpeTokenizer;
import org.moe4j.io.tokenizer.BpeTrainer;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.model.QkNorm;
import org.moe4j.model.TransformerConfig;
import org.moe4j.model.TransformerLm;
import org.moe4j.moe.RoutingContext;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.Tensor;

/**
 * TransformerLm to GGUF and back for each llama.cpp architecture: the Hugging Face golden fixtures keep their
 * logits exactly through an F32 file (so the rotary row permutation of llama and deepseek is undone exactly), the
 * metadata says what llama.cpp reads, and the tokenizer survives.
 */
class GgufModelTest {
    // qwen2_moe and qwen3_moe have a dense layer, which llama.cpp's qwen2moe and qwen3moe do not
    static final Map<String, GgufArchitecture> FIXTURES = Map.of("mixtral", GgufArchitecture.LLAMA, "olmoe", GgufArchitecture.OLMOE, "deepseek", GgufArchitecture.DEEPSEEK);
    static final int[] PROMPT = {1, 5, 9, 2, 7, 3};

    static Path fixture(String arch) {
        try {
            return Path.of(GgufModelTest.class.getResource("/hf/" + arch + "/config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Tensor logits(TransformerLm model, int[] prompt) {
        try (GradMode off = GradMode.off()) {
            return model.forward(new IntTensor(prompt, new int[] {1, prompt.length}), RoutingContext.inference("test"))
                    .logits().value();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "olmoe", "deepseek"})
    void huggingFaceFixturesRoundTripExactlyThroughF32(String name, @TempDir Path tmp) {
        HfModel hf = HfCheckpoint.load(fixture(name));
        GgufArchitecture arch = GgufArchitecture.of(hf.architecture());
        assertEquals(FIXTURES.get(name), arch);
        Path file = tmp.resolve(name + ".gguf");
        GgufModel.save(hf.model(), arch, null, QuantFormat.F32, file, GgufModel.Progress.NONE);
        GgufModel.Loaded back = GgufModel.load(file);
        assertEquals(arch, back.architecture());
        assertEquals(hf.model().config().withLossWeights(0.01, 0).withInitStd(0.02).withMaxSeqLen(
                hf.model().config().maxSeqLen()), back.model().config(), "config");
        assertTrue(back.tokenizer().isEmpty());
        assertArrayEquals(logits(hf.model(), PROMPT).toFloatArray(), logits(back.model(), PROMPT).toFloatArray());
    }

    @Test
    void llamaStoresQueryAndKeyRowsInterleavedAndOthersDoNot(@TempDir Path tmp) {
        HfModel hf = HfCheckpoint.load(fixture("mixtral"));
        Path file = tmp.resolve("m.gguf");
        GgufModel.save(hf.model(), GgufArchitecture.LLAMA, null, QuantFormat.F32, file, GgufModel.Progress.NONE);
        TransformerConfig c = hf.model().config();
        try (GgufFile f = GgufFile.open(file)) {
            Tensor q = hf.model().blocks().get(0).attention().q().weight().value();
            Tensor gq = f.tensor("blk.0.attn_q.weight");
            int half = c.headDim() / 2;
            // head 1, pair index 1: HF rows (1, 1) and (1, 1 + D/2) are GGUF rows (1, 2) and (1, 3)
            assertEquals(4, c.headDim());
            assertArrayEquals(row(q, c.headDim() + 1), row(gq, c.headDim() + 2));
            assertArrayEquals(row(q, c.headDim() + half + 1), row(gq, c.headDim() + 3));
            Tensor k = hf.model().blocks().get(1).attention().k().weight().value();
            assertArrayEquals(row(k, half), row(f.tensor("blk.1.attn_k.weight"), 1));
            assertArrayEquals(row(hf.model().blocks().get(0).attention().v().weight().value(), 3),
                    row(f.tensor("blk.0.attn_v.weight"), 3));
            assertEquals("llama", f.string("general.architecture"));
            assertEquals(4, f.integer("llama.expert_count"));
            assertEquals(2, f.integer("llama.expert_used_count"));
            assertEquals(c.expertHidden(), f.integer("llama.feed_forward_length"));
            assertEquals(c.headDim(), f.integer("llama.rope.dimension_count"));
            assertArrayEquals(new long[] {4, c.expertHidden(), c.dModel()}, f.info("blk.0.ffn_up_exps.weight").shape());
            assertArrayEquals(new long[] {c.expertHidden(), c.dModel(), 4}, f.info("blk.0.ffn_down_exps.weight").dims());
            assertEquals("none", f.string("tokenizer.ggml.model"));
        }
    }

    static float[] row(Tensor t, int r) {
        int cols = t.shape()[1];
        return t.contiguous().narrow(0, r, 1).reshape(cols).toFloatArray();
    }

    /** A random model of each architecture with sizes that fill Q8_0 blocks, and Qwen2-MoE's biases and gate. */
    static TransformerConfig config(GgufArchitecture arch) {
        TransformerConfig base = TransformerConfig.tiny().withMaxSeqLen(64); // d 64, 4 heads of 16, 4 experts top-2
        return switch (arch) {
            case LLAMA -> base;
            case QWEN2MOE -> base.withRouter(TransformerConfig.DEFAULT_ROUTER,
                    org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder.BEFORE_TOP_K, false).withShared(1, 96, true)
                    .withAttentionBias(true);
            case QWEN3MOE -> base.withQkNorm(QkNorm.PER_HEAD).withAttention(4, 2, 32).withTiedEmbeddings(true);
            case OLMOE -> base.withRouter(TransformerConfig.DEFAULT_ROUTER,
                    org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder.BEFORE_TOP_K, false).withQkNorm(QkNorm.FULL_WIDTH)
                    .withAttention(4, 4, 16);
            case DEEPSEEK -> base.withRouter(TransformerConfig.DEFAULT_ROUTER,
                    org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder.BEFORE_TOP_K, false).withShared(2, 128, false)
                    .withLayers(3).withDenseLayers(1, 160, 1);
        };
    }

    static TransformerLm randomModel(GgufArchitecture arch, long seed) {
        return randomModel(config(arch), seed);
    }

    static TransformerLm randomModel(TransformerConfig c, long seed) {
        TransformerLm m = new TransformerLm(c, new Rng(seed));
        // norms start at 1: make them random so a swapped or dropped norm shows
        Rng rng = new Rng(seed + 1);
        for (Map.Entry<String, Variable> e : m.namedParameters().entrySet()) {
            if (e.getKey().endsWith("Norm.weight") || e.getKey().equals("norm.weight")) {
                Tensor w = e.getValue().value();
                for (int i = 0; i < w.numel(); i++) w.set(0.5f + rng.nextFloat(), i);
            }
        }
        return m;
    }

    @ParameterizedTest
    @EnumSource(GgufArchitecture.class)
    void everyArchitectureRoundTripsWithItsTokenizer(GgufArchitecture arch, @TempDir Path tmp) {
        TransformerLm model = new TransformerLm(config(arch).withVocab(264), new Rng(7));
        BpeTokenizer tok = BpeTrainer.train("the cat sat on the mat; the dog sat on the log. ".repeat(20), 259 + 3, List.of("<|eos|>"));
        Path file = tmp.resolve("m.gguf");
        assertEquals("", GgufModel.save(model, arch, tok, QuantFormat.F32, file, GgufModel.Progress.NONE));
        GgufModel.Loaded back = GgufModel.load(file);
        assertArrayEquals(logits(model, PROMPT).toFloatArray(), logits(back.model(), PROMPT).toFloatArray(), arch.toString());
        Tokenizer t2 = back.tokenizer().orElseThrow(() -> new AssertionError(back.tokenizerNote()));
        String text = "the cat sat on the log<|eos|>";
        assertArrayEquals(tok.encode(text), t2.encode(text));
        assertEquals(tok.eosId(), t2.eosId());
        assertEquals(tok.vocabSize(), t2.vocabSize());
    }

    @Test
    void byteTokenizerIsWrittenAsMergelessByteLevelBpe(@TempDir Path tmp) {
        TransformerLm model = randomModel(GgufArchitecture.LLAMA, 3);
        Path file = tmp.resolve("m.gguf");
        GgufModel.save(model, GgufArchitecture.LLAMA, new ByteTokenizer(), QuantFormat.F32, file, GgufModel.Progress.NONE);
        BpeTokenizer t = (BpeTokenizer) GgufModel.load(file).tokenizer().orElseThrow();
        ByteTokenizer b = new ByteTokenizer();
        String text = "héllo wörld<|eos|>";
        assertArrayEquals(b.encode(text), t.encode(text));
        assertEquals(b.eosId(), t.eosId());
        assertEquals(b.decode(b.encode(text)), t.decode(t.encode(text)));
    }

    @ParameterizedTest
    @EnumSource(GgufArchitecture.class)
    void q8AndQ4FilesComputeCloseToTheFloatModel(GgufArchitecture arch, @TempDir Path tmp) {
        TransformerLm model = randomModel(arch, 11);
        Tensor want = logits(model, PROMPT);
        for (QuantFormat type : new QuantFormat[] {QuantFormat.Q8_0, QuantFormat.Q4_0, QuantFormat.F16}) {
            Path file = tmp.resolve(type + ".gguf");
            GgufModel.save(model, arch, null, type, file, GgufModel.Progress.NONE);
            try (GgufFile f = GgufFile.open(file)) {
                assertEquals(GgmlType.F32, f.info("blk.0.attn_norm.weight").type(), "norms stay F32");
                assertEquals(GgmlType.F32, f.info("blk.1.ffn_gate_inp.weight").type(), "the router stays F32");
                assertEquals(GgmlType.of(type), f.info("blk.1.ffn_up_exps.weight").type());
                assertEquals(GgmlType.of(type), f.info("blk.0.attn_q.weight").type());
            }
            Tensor got = logits(GgufModel.load(file).model(), PROMPT);
            double tol = type == QuantFormat.Q4_0 ? 0.5 : type == QuantFormat.Q8_0 ? 0.02 : 0.005;
            double err = maxAbsDiff(want, got) / maxAbs(want);
            assertTrue(err < tol, arch + " " + type + ": relative error " + err);
            assertNotEquals(0.0, err, "the file was quantized");
        }
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double m = 0;
        for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
        return m;
    }

    static double maxAbs(Tensor a) {
        double m = 0;
        for (float v : a.toFloatArray()) m = Math.max(m, Math.abs(v));
        return m;
    }

    @Test
    void configsLlamaCppWouldComputeDifferentlyAreRefused() {
        TransformerConfig c = TransformerConfig.tiny();
        Moe4jException e = assertThrows(Moe4jException.class,
                () -> GgufArchitecture.LLAMA.checkExpressible(c.withQkNorm(QkNorm.PER_HEAD)));
        assertTrue(e.getMessage().contains("qkNorm"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> GgufArchitecture.QWEN2MOE.checkExpressible(
                config(GgufArchitecture.QWEN2MOE).withDenseLayers(1, 64, 1)));
        assertTrue(e.getMessage().contains("dense layers"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> GgufArchitecture.LLAMA.checkExpressible(
                c.withRouter(TransformerConfig.DEFAULT_ROUTER,
                        org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder.BEFORE_TOP_K, false)));
        assertTrue(e.getMessage().contains("not renormalised"), e.getMessage());
        assertFalse(GgufArchitecture.LLAMA.interleavedRope() == GgufArchitecture.QWEN3MOE.interleavedRope());
    }

    @Test
    void theQwen2FixtureWithADenseLayerIsRefusedForQwen2moe() {
        HfModel hf = HfCheckpoint.load(fixture("qwen2_moe"));
        Moe4jException e = assertThrows(Moe4jException.class, () -> GgufModel.fill(new GgufWriter(), hf.model(),
                GgufArchitecture.QWEN2MOE, null, QuantFormat.F32, GgufModel.Progress.NONE));
        assertTrue(e.getMessage().contains("qwen2moe") && e.getMessage().contains("dense"), e.getMessage());
    }
}
