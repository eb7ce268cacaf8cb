package org.moe4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.moe.SoftmaxTopKRouter;
import org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder;

class TransformerConfigTest {
    @Test
    void smallIsTheBenchmarkModelOfTheIssue() {
        TransformerConfig s = TransformerConfig.small();
        assertEquals(List.of(259, 256, 4, 4, 4, 64, 8, 2, 512, 256), List.of(s.vocab(), s.dModel(), s.layers(), s.heads(),
                s.kvHeads(), s.headDim(), s.experts(), s.topK(), s.expertHidden(), s.maxSeqLen()));
        assertEquals("topk", s.router());
        for (int i = 0; i < 4; i++) assertTrue(s.isMoeLayer(i));
        TransformerLm model = new TransformerLm(s, new Rng(1));
        // Per layer: attention 4 * 256^2, two norms, router 8 * 256, experts 8 * 3 * 256 * 512; plus the embedding,
        // the head and the final norm.
        long perLayer = 4L * 256 * 256 + 2 * 256 + 8 * 256 + 8L * 3 * 256 * 512;
        assertEquals(4 * perLayer + 2L * 259 * 256 + 256, model.parameterCount());
        assertEquals(model.parameterCount() - 4L * 6 * 3 * 256 * 512, model.activeParameterCount());
    }

    @Test
    void toStringListsEveryField() {
        String text = TransformerConfig.small().toString();
        for (RecordComponent c : TransformerConfig.class.getRecordComponents()) {
            assertTrue(text.contains(c.getName() + "="), c.getName() + " missing from " + text);
        }
    }

    @Test
    void withersChangeOneThingAndKeepTheRest() {
        TransformerConfig t = TransformerConfig.tiny();
        TransformerConfig changed = t.withVocab(100).withLayers(3).withAttention(8, 2, 8).withMoe(6, 3, 32)
                .withShared(2, 16, true).withDenseLayers(1, 64, 2).withQkNorm(QkNorm.FULL_WIDTH).withTiedEmbeddings(true)
                .withMaxSeqLen(512).withRopeTheta(1e6).withRmsEps(1e-5).withLossWeights(0.001, 0.0001)
                .withAttentionBias(true).withInitStd(0.01).withDModel(48);
        assertEquals(new TransformerConfig(100, 48, 3, 8, 2, 8, 1e6, 1e-5, QkNorm.FULL_WIDTH, true, 6, 3, 32, "topk",
                SoftmaxOrder.BEFORE_TOP_K, true, 2, 16, true, 1, 64, 2, 0.001, 0.0001, true, 512, 0.01), changed);
        assertEquals(TransformerConfig.tiny(), t, "records are immutable");
        assertEquals("switch", t.withRouter("switch").router());
    }

    /** Layer i is MoE after the dense layers when (i + 1) % moeEvery == 0 (Qwen2-MoE's decoder_sparse_step). */
    @Test
    void denseAndMoeLayersFollowFirstDenseLayersAndMoeEvery() {
        TransformerConfig c = TransformerConfig.tiny().withLayers(6).withDenseLayers(1, 64, 2);
        boolean[] moe = new boolean[6];
        for (int i = 0; i < 6; i++) moe[i] = c.isMoeLayer(i);
        assertArrayEquals(new boolean[] {false, true, false, true, false, true}, moe);
        TransformerConfig dense = TransformerConfig.tiny().asDense(96);
        TransformerLm model = new TransformerLm(dense, new Rng(2));
        assertTrue(model.blocks().stream().allMatch(b -> b.moe() == null && b.dense().hidden() == 96));
        assertEquals(model.parameterCount(), model.activeParameterCount());
    }

    @Test
    void invalidConfigsSayWhatIsWrong() {
        TransformerConfig t = TransformerConfig.tiny();
        assertMessage(() -> t.withAttention(4, 3, 16), "heads (4) must be a multiple of kvHeads (3)");
        assertMessage(() -> t.withAttention(4, 2, 15), "headDim must be even");
        assertMessage(() -> t.withMoe(4, 5, 128), "topK must be in [1, 4], got 5");
        assertMessage(() -> t.withRouter("nope"), "unknown router 'nope'");
        assertMessage(() -> t.withRouter("switch", SoftmaxOrder.AFTER_TOP_K, false), "apply to the 'topk' router only");
        assertMessage(() -> t.withDenseLayers(1, 0, 1), "denseHidden must be positive");
        assertMessage(() -> t.withDenseLayers(3, 64, 1), "firstDenseLayers must be in [0, layers=2]");
        assertMessage(() -> t.withShared(0, 0, true), "sharedGate needs shared experts");
        assertMessage(() -> t.withMoe(0, 2, 128), "a dense model (experts = 0) takes topK = 0");
        assertMessage(() -> t.withRopeTheta(1), "ropeTheta must be finite and > 1");
        assertMessage(() -> t.withRmsEps(0), "rmsEps must be positive");
        assertMessage(() -> t.withMaxSeqLen(0), "maxSeqLen must be positive");
        assertMessage(() -> t.withLossWeights(-1, 0), "loss weights must be finite and >= 0");
        assertMessage(() -> t.isMoeLayer(2), "layer 2 out of [0, 2)");
    }

    private static void assertMessage(Supplier<?> build, String part) {
        Moe4jException e = assertThrows(Moe4jException.class, build::get);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    /** Scaled-down configurations of the architectures the config is meant to express, each built and run. */
    @Test
    void expressesTheMoeLanguageModelFamilies() {
        TransformerConfig base = TransformerConfig.tiny().withVocab(50).withLayers(3);
        // Mixtral: GQA, 8 experts top-2, softmax over the chosen two, untied head.
        TransformerConfig mixtral = base.withAttention(4, 1, 16).withMoe(8, 2, 32)
                .withRouter("topk", SoftmaxOrder.AFTER_TOP_K, false);
        // Qwen2-MoE: qkv biases, softmax before top-k without renormalisation, one sigmoid-gated shared expert.
        TransformerConfig qwen2 = base.withAttentionBias(true).withMoe(8, 2, 16)
                .withRouter("topk", SoftmaxOrder.BEFORE_TOP_K, false).withShared(1, 64, true);
        // Qwen3-MoE: per-head qk-norm, head width independent of d_model, renormalised top-k.
        TransformerConfig qwen3 = base.withAttention(4, 2, 32).withQkNorm(QkNorm.PER_HEAD).withMoe(8, 2, 16)
                .withRouter("topk", SoftmaxOrder.BEFORE_TOP_K, true);
        // OLMoE: full-width qk-norm, 8 of 64 experts, no renormalisation.
        TransformerConfig olmoe = base.withQkNorm(QkNorm.FULL_WIDTH).withMoe(64, 8, 8)
                .withRouter("topk", SoftmaxOrder.BEFORE_TOP_K, false);
        // DeepSeekMoE v1: a dense first layer, fine-grained experts and two ungated shared experts.
        TransformerConfig deepseek = base.withMoe(16, 4, 16).withRouter("topk", SoftmaxOrder.BEFORE_TOP_K, false)
                .withShared(2, 16, false).withDenseLayers(1, 128, 1);
        for (TransformerConfig c : List.of(mixtral, qwen2, qwen3, olmoe, deepseek)) {
            TransformerLm model = new TransformerLm(c, new Rng(3));
            var names = model.namedParameters();
            assertEquals(c.attentionBias(), names.containsKey("layers.1.attention.q.bias"), c.toString());
            assertEquals(c.sharedGate(), names.containsKey("layers.1.mlp.sharedGate"), c.toString());
            assertEquals(c.sharedExperts() > 0, names.containsKey("layers.1.mlp.shared.gate"), c.toString());
            assertEquals(c.firstDenseLayers() > 0, names.containsKey("layers.0.mlp.gate.weight"), c.toString());
            int qNormWidth = switch (c.qkNorm()) {
                case NONE -> 0;
                case PER_HEAD -> c.headDim();
                case FULL_WIDTH -> c.queryWidth();
            };
            var qNorm = model.blocks().get(1).attention().qNorm();
            assertEquals(qNormWidth, qNorm == null ? 0 : qNorm.dim(), c.toString());
            var router = (SoftmaxTopKRouter) model.blocks().get(2).moe().router();
            assertEquals(c.routerSoftmax(), router.config().order());
            assertEquals(c.normTopKProb(), router.config().renormalize());
            LmOutput out = model.forwardIncremental(org.moe4j.tensor.IntTensor.of(1, 2, 3), model.newCache());
            assertArrayEquals(new int[] {1, 3, 50}, out.logits().shape());
            assertNull(out.auxLoss());
            assertFalse(out.routerStats().isEmpty());
        }
    }
}
