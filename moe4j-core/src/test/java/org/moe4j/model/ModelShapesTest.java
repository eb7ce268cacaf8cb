package org.moe4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.ExpertKind;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.RoutingContext;
import org.moe4j.tensor.IntTensor;
import org.moe4j.testing.TestData;

/** Output shapes, telemetry names and the exact parameter counts, total and active, of every model. */
class ModelShapesTest {
    private final Rng rng = new Rng(3);

    /** inputs 5, classes 3, width 8, one layer of 4 GELU experts with biases, hidden 6, top-2. */
    private static MoeMlpConfig mlp() {
        return new MoeMlpConfig(5, 3, MoeHeadConfig.of(8, 4, 2, 6));
    }

    /** 1x8x8 images, stages 4 and 6 (3x3), flat 6*2*2 = 24; head width 8, 4 SwiGLU experts hidden 6, top-2. */
    private static MoeCnnConfig cnn() {
        ConvTrunkConfig trunk = new ConvTrunkConfig(1, 8, 8, List.of(4, 6), 3);
        return new MoeCnnConfig(trunk, 3, MoeHeadConfig.of(8, 4, 2, 6).withExpertKind(ExpertKind.SWIGLU, false),
                ConvMoeConfig.none());
    }

    @Test
    void moeMlpCountsEveryParameterAndTheActiveShare() {
        MoeMlp model = mlp().build(rng);
        long proj = 5 * 8 + 8, norms = 2 * (2 * 8), router = 4 * 8, classifier = 8 * 3 + 3;
        long expert = 6 * 8 + 8 * 6 + 6 + 8; // up, down, their biases
        assertEquals(proj + norms + router + 4 * expert + classifier, model.parameterCount());
        assertEquals(proj + norms + router + 2 * expert + classifier, model.activeParameterCount());
    }

    @Test
    void moeCnnCountsTrunkHeadAndActiveExperts() {
        MoeCnn model = cnn().build(rng);
        long trunk = (4 * 9 + 4) + (6 * 4 * 9 + 6);
        long proj = 24 * 8 + 8, norms = 2 * (2 * 8), router = 4 * 8, classifier = 8 * 3 + 3;
        long expert = 3 * 6 * 8; // gate, up, down
        assertEquals(trunk + proj + norms + router + 4 * expert + classifier, model.parameterCount());
        assertEquals(trunk + proj + norms + router + 2 * expert + classifier, model.activeParameterCount());
        assertEquals(24, cnn().trunk().flatSize());
    }

    @Test
    void convMoeExpertsCountByTheirShareToo() {
        MoeCnnConfig config = cnn().withConvMoe(ConvMoeConfig.of(1, 3, 1));
        MoeCnn model = config.build(rng);
        long convExpert = 6 * 6 * 9 + 6, convRouter = 3 * 6;
        long base = cnn().build(new Rng(1)).parameterCount();
        long baseActive = cnn().build(new Rng(1)).activeParameterCount();
        assertEquals(base + convRouter + 3 * convExpert, model.parameterCount());
        assertEquals(baseActive + convRouter + convExpert, model.activeParameterCount());
    }

    @Test
    void activeShareFollowsTheRouter() {
        long expert = 6 * 8 + 8 * 6 + 6 + 8;
        long dense = mlp().build(rng).parameterCount() - 4 * expert; // everything but the routed experts
        // Switch sends each token to one expert; noisy top-k has a second [experts, width] matrix for its noise.
        MoeMlp sw = mlp().withHead(mlp().head().withRouter("switch")).build(rng);
        assertEquals(dense + expert, sw.activeParameterCount());
        MoeMlp noisy = mlp().withHead(mlp().head().withRouter("noisy-topk")).build(rng);
        assertEquals(dense + 4 * 8 + 2 * expert, noisy.activeParameterCount());
        assertEquals(dense + 4 * 8 + 4 * expert, noisy.parameterCount());
        // Expert choice with capacity factor k = 2: two experts per token on average.
        MoeMlp ec = mlp().withHead(mlp().head().withRouter("expert-choice")).build(rng);
        assertEquals(dense + 2 * expert, ec.activeParameterCount());
        // Hash routing learns nothing: no router parameters, one expert per token.
        MoeMlp hash = mlp().withHead(mlp().head().withRouter("hash")).build(rng);
        assertEquals(dense - 4 * 8 + expert, hash.activeParameterCount());
    }

    @Test
    void denseBaselinesMatchActiveOrTotalFeedForwardWeights() {
        MoeMlpConfig moe = mlp();
        DenseMlp active = DenseMlpConfig.matchingActive(moe).build(rng);
        DenseMlp total = DenseMlpConfig.matchingTotal(moe).build(rng);
        assertEquals(2 * 6, DenseMlpConfig.matchingActive(moe).head().hidden());
        assertEquals(4 * 6, DenseMlpConfig.matchingTotal(moe).head().hidden());
        long proj = 5 * 8 + 8, norms = 2 * (2 * 8), classifier = 8 * 3 + 3;
        assertEquals(proj + norms + (12 * 8 + 12 + 8 * 12 + 8) + classifier, active.parameterCount());
        assertEquals(proj + norms + (24 * 8 + 24 + 8 * 24 + 8) + classifier, total.parameterCount());
        assertEquals(active.parameterCount(), active.activeParameterCount());
        // The FFN weights match exactly; the MoE adds its router and one down bias per extra expert.
        MoeMlp m = moe.build(rng);
        assertEquals(m.activeParameterCount() - 4 * 8 - 8, active.parameterCount());

        MoeCnnConfig cnnMoe = cnn();
        DenseCnn cnnActive = DenseCnnConfig.matchingActive(cnnMoe).build(rng);
        DenseCnn cnnTotal = DenseCnnConfig.matchingTotal(cnnMoe).build(rng);
        MoeCnn c = cnnMoe.build(rng);
        assertEquals(c.activeParameterCount() - 4 * 8, cnnActive.parameterCount()); // SwiGLU: no biases at all
        assertEquals(c.parameterCount() - 4 * 8, cnnTotal.parameterCount());
    }

    @Test
    void theActiveBaselineFollowsTheExpertsATokenReaches() {
        MoeHeadConfig head = mlp().head();
        assertEquals(6, DenseHeadConfig.matchingActive(head.withRouter("switch")).hidden()); // one expert per token
        assertEquals(6, DenseHeadConfig.matchingActive(head.withRouter("hash")).hidden());
        assertEquals(12, DenseHeadConfig.matchingActive(head.withRouter("expert-choice")).hidden()); // capacity 2
        assertEquals(24, DenseHeadConfig.matchingTotal(head.withRouter("switch")).hidden());
        MoeMlp sw = mlp().withHead(head.withRouter("switch")).build(rng);
        DenseMlp dense = DenseMlpConfig.matchingActive(mlp().withHead(head.withRouter("switch"))).build(rng);
        assertEquals(sw.activeParameterCount() - 4 * 8, dense.parameterCount()); // the router's weights
    }

    @Test
    void sharedExpertsCountFullyAndWidenTheDenseBaseline() {
        MoeMlpConfig config = mlp().withHead(mlp().head().withShared(1, 5, false));
        MoeMlp model = config.build(rng);
        long shared = 5 * 8 + 8 * 5 + 5 + 8;
        assertEquals(mlp().build(rng).parameterCount() + shared, model.parameterCount());
        assertEquals(mlp().build(rng).activeParameterCount() + shared, model.activeParameterCount());
        assertEquals(2 * 6 + 5, DenseMlpConfig.matchingActive(config).head().hidden());
    }

    @Test
    void forwardGivesLogitsAuxLossAndNamedTelemetryPerLayer() {
        MoeCnnConfig config = cnn().withHead(cnn().head().withLayers(2)).withConvMoe(ConvMoeConfig.of(1, 3, 2));
        MoeCnn model = config.build(rng);
        Variable x = Variable.constant(TestData.randn(rng, 5, 1, 8, 8));
        ClassifierOutput out = model.forward(x, RoutingContext.training("ignored", new Rng(1)));
        assertArrayEquals(new int[] {5, 3}, out.logits().shape());
        assertNotNull(out.auxLoss());
        assertEquals(List.of("trunk.moe0", "head.moe0", "head.moe1"), out.stats().stream().map(RouterStats::layer).toList());
        for (RouterStats s : out.stats()) {
            assertEquals(5, s.tokens());
            assertEquals(5 * 2, s.totalRouted()); // top-2 of every image
        }
        assertEquals(0, out.stats().get(0).totalDropped());
        assertTrue(Double.isFinite(out.loss(new IntTensor(new int[] {0, 1, 2, 0, 1}, new int[] {5})).value().item()));
        // Inference: no balance loss, same telemetry names.
        ClassifierOutput eval = model.forward(x);
        assertNull(eval.auxLoss());
        assertEquals(3, eval.stats().size());
    }

    @Test
    void denseModelsHaveNoAuxLossAndNoTelemetry() {
        DenseMlp mlp = DenseMlpConfig.matchingActive(mlp()).build(rng);
        ClassifierOutput out = mlp.forward(Variable.constant(TestData.randn(rng, 4, 5)), RoutingContext.training("m", rng));
        assertArrayEquals(new int[] {4, 3}, out.logits().shape());
        assertNull(out.auxLoss());
        assertTrue(out.stats().isEmpty());
        DenseCnn cnn = DenseCnnConfig.matchingTotal(cnn()).build(rng);
        assertArrayEquals(new int[] {2, 3}, cnn.forward(Variable.constant(TestData.randn(rng, 2, 1, 8, 8))).logits().shape());
    }

    @Test
    void hashRoutingUsesTheIdsTheCallerGives() {
        MoeMlp model = mlp().withHead(mlp().head().withRouter("hash")).build(rng);
        Variable x = Variable.constant(TestData.randn(rng, 3, 5));
        RoutingContext ctx = RoutingContext.inference("m").withTokenIds(new IntTensor(new int[] {4, 9, 4}, new int[] {3}));
        ClassifierOutput out = model.forward(x, ctx);
        assertEquals(3, out.stats().getFirst().totalRouted());
    }

    @Test
    void trunkPoolsBeforeItsReluWithTheSameResultAsReluThenPool() {
        ConvTrunkConfig config = new ConvTrunkConfig(2, 6, 7, List.of(3), 3);
        ConvTrunk trunk = new ConvTrunk(config, new Rng(5));
        Variable x = Variable.constant(TestData.randn(rng, 2, 2, 6, 7));
        Variable conv = org.moe4j.autograd.Convolution.conv2d(x, trunk.namedParameters().get("conv0.weight"),
                trunk.namedParameters().get("conv0.bias"), 1, 1);
        Variable usual = org.moe4j.autograd.Convolution.maxPool2d(org.moe4j.autograd.Activations.relu(conv), 2, 2, 0);
        Variable out = trunk.forward(x);
        assertArrayEquals(new int[] {2, 3, 3, 3}, out.shape());
        assertArrayEquals(usual.value().toFloatArray(), out.value().toFloatArray());
    }
}
