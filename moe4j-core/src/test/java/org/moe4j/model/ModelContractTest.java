package org.moe4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.moe.BalanceScope;
import org.moe4j.moe.DropOrder;
import org.moe4j.moe.ExpertKind;
import org.moe4j.moe.RoutingContext;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/** Seeded determinism, rebuilding from a config, the configs' validation and copies, and misuse errors. */
class ModelContractTest {
    private static final ConvTrunkConfig TRUNK = new ConvTrunkConfig(1, 8, 8, List.of(4, 6), 3);

    private static List<ClassifierConfig> configs() {
        MoeMlpConfig mlp = new MoeMlpConfig(5, 3, MoeHeadConfig.of(8, 4, 2, 6).withDropout(0.2));
        MoeCnnConfig cnn = new MoeCnnConfig(TRUNK, 3, MoeHeadConfig.of(8, 4, 2, 6).withRouter("noisy-topk"),
                ConvMoeConfig.of(1, 3, 1));
        return List.of(mlp, DenseMlpConfig.matchingActive(mlp), cnn, DenseCnnConfig.matchingTotal(cnn));
    }

    private static Tensor input(ClassifierConfig c, Rng rng) {
        int[] one = c.inputShape();
        int[] shape = new int[one.length + 1];
        shape[0] = 6;
        System.arraycopy(one, 0, shape, 1, one.length);
        return TestData.randn(rng, shape);
    }

    @Test
    void routersAreListedUnderTheirTelemetryNames() {
        for (ClassifierConfig c : configs()) {
            Classifier model = c.build(new Rng(3));
            List<String> layers = model.forward(Variable.constant(input(c, new Rng(4)))).stats().stream()
                    .map(org.moe4j.moe.RouterStats::layer).toList();
            // The trainer finds each router by the layer name its telemetry carries, to update DeepSeek-V3 biases.
            assertEquals(layers, List.copyOf(model.routers().keySet()), c.kind());
        }
        MoeCnnConfig biased = new MoeCnnConfig(TRUNK, 3, MoeHeadConfig.of(8, 4, 2, 6).withRouter("sigmoid-bias"),
                ConvMoeConfig.none());
        assertTrue(biased.build(new Rng(1)).routers().get("head.moe0") instanceof org.moe4j.moe.SigmoidBiasRouter);
    }

    @Test
    void theSameSeedGivesBitIdenticalLogitsInTrainingAndInference() {
        for (ClassifierConfig c : configs()) {
            Tensor x = input(c, new Rng(11));
            Classifier a = c.build(new Rng(42));
            Classifier b = c.build(new Rng(42));
            // Training draws dropout masks and router noise from the context's Rng: the same seed, the same draws.
            float[] la = a.forward(Variable.constant(x), RoutingContext.training("m", new Rng(5))).logits().value().toFloatArray();
            float[] lb = b.forward(Variable.constant(x), RoutingContext.training("m", new Rng(5))).logits().value().toFloatArray();
            assertArrayEquals(la, lb, c.kind());
            assertArrayEquals(a.forward(Variable.constant(x)).logits().value().toFloatArray(),
                    b.forward(Variable.constant(x)).logits().value().toFloatArray(), c.kind());
            float[] other = c.build(new Rng(43)).forward(Variable.constant(x)).logits().value().toFloatArray();
            assertFalse(java.util.Arrays.equals(la, other), c.kind() + ": another seed should give other weights");
            // Same names and shapes when rebuilt from the config, so a checkpoint's weights load back.
            Map<String, Variable> pa = a.namedParameters();
            Map<String, Variable> pb = c.build(new Rng(1)).namedParameters();
            assertEquals(pa.keySet(), pb.keySet());
            pa.forEach((name, p) -> assertArrayEquals(p.shape(), pb.get(name).shape(), name));
        }
    }

    @Test
    void dropoutActsOnlyInTraining() {
        MoeMlpConfig c = new MoeMlpConfig(5, 3, MoeHeadConfig.of(8, 4, 2, 6).withDropout(0.5));
        MoeMlp model = c.build(new Rng(1));
        Variable x = Variable.constant(TestData.randn(new Rng(2), 4, 5));
        float[] eval1 = model.forward(x).logits().value().toFloatArray();
        float[] eval2 = model.forward(x).logits().value().toFloatArray();
        assertArrayEquals(eval1, eval2);
        float[] train1 = model.forward(x, RoutingContext.training("m", new Rng(1))).logits().value().toFloatArray();
        float[] train2 = model.forward(x, RoutingContext.training("m", new Rng(2))).logits().value().toFloatArray();
        assertFalse(java.util.Arrays.equals(train1, train2), "different dropout masks");
        assertThrows(Moe4jException.class, () -> model.forward(x, new RoutingContext("m", true, null, null, null, null)));
    }

    @Test
    void aWrongInputShapeNamesTheModelAndTheShapes() {
        MoeCnn cnn = new MoeCnnConfig(TRUNK, 3, MoeHeadConfig.of(8, 4, 2, 6), ConvMoeConfig.none()).build(new Rng(1));
        ShapeException e = assertThrows(ShapeException.class,
                () -> cnn.forward(Variable.constant(Tensor.zeros(2, 1, 7, 8))));
        assertTrue(e.getMessage().startsWith("moe-cnn:"), e.getMessage());
        assertTrue(e.getMessage().contains("[batch, 1, 8, 8]") && e.getMessage().contains("[2, 1, 7, 8]"), e.getMessage());
        assertThrows(ShapeException.class, () -> cnn.forward(Variable.constant(Tensor.zeros(1, 8, 8))));
        assertThrows(ShapeException.class, () -> cnn.forward(Variable.constant(Tensor.zeros(0, 1, 8, 8))));

        DenseMlp mlp = DenseMlpConfig.matchingActive(new MoeMlpConfig(5, 3, MoeHeadConfig.of(8, 4, 2, 6))).build(new Rng(1));
        e = assertThrows(ShapeException.class, () -> mlp.forward(Variable.constant(Tensor.zeros(4, 6))));
        assertTrue(e.getMessage().contains("dense-mlp") && e.getMessage().contains("[batch, 5]")
                && e.getMessage().contains("[4, 6]"), e.getMessage());
        Moe4jException dtype = assertThrows(Moe4jException.class,
                () -> mlp.forward(Variable.constant(Tensor.zeros(org.moe4j.tensor.DType.F64, 4, 5))));
        assertTrue(dtype.getMessage().contains("F64"), dtype.getMessage());
    }

    @Test
    void configsValidateWithMessagesThatSayWhatIsWrong() {
        assertMessage("unknown router 'nope'", () -> MoeHeadConfig.of(8, 4, 2, 6).withRouter("nope"));
        assertMessage("must equal the width", () -> new MoeHeadConfig(16, 1, "topk", MoeHeadConfig.of(8, 4, 2, 6).moe(), 0));
        assertMessage("top-k must be in [1, 4]", () -> MoeHeadConfig.of(8, 4, 2, 6).withTopK(5));
        assertMessage("dropout", () -> MoeHeadConfig.of(8, 4, 2, 6).withDropout(1));
        assertMessage("at least one MoE layer", () -> MoeHeadConfig.of(8, 4, 2, 6).withLayers(0));
        assertMessage("halve a 8x8 input to nothing", () -> TRUNK.withStages(List.of(2, 2, 2, 2)));
        assertMessage("kernel must be odd", () -> TRUNK.withKernel(2));
        assertMessage("at least 2 classes", () -> new MoeMlpConfig(5, 1, MoeHeadConfig.of(8, 4, 2, 6)));
        assertMessage("SwiGLU FFNs have no biases", () -> new DenseHeadConfig(8, 1, ExpertKind.SWIGLU, 4, true, 0));
        assertMessage("top-k must be in [1, 3]", () -> ConvMoeConfig.of(1, 3, 4));
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        Moe4jException e = assertThrows(Moe4jException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void withCopiesChangeOneThingAndToStringListsEveryHyperparameter() {
        MoeCnnConfig base = MoeCnnConfig.fashionMnist();
        MoeHeadConfig head = base.head().withExperts(16).withTopK(4).withExpertHidden(128).withWidth(64)
                .withCapacity(1.25, 0, DropOrder.SCORE).withLosses(0.02, BalanceScope.MICRO_BATCH, 0.001)
                .withRouter("switch").withLayers(2).withDropout(0.1);
        MoeCnnConfig changed = base.withHead(head);
        assertEquals(64, changed.head().moe().dim());
        assertEquals(16, changed.head().moe().experts());
        assertEquals(4, changed.head().moe().topK());
        assertEquals(128, changed.head().moe().hidden());
        assertEquals(ExpertKind.GELU, changed.head().moe().expertKind()); // kept through the copies
        assertEquals(8, base.head().moe().experts()); // the original is untouched
        assertNotEquals(base, changed);
        assertEquals(base, MoeCnnConfig.fashionMnist());
        String s = changed.toString();
        for (String field : List.of("channels=1", "height=28", "width=28", "stages=[32, 64]", "kernel=3", "classes=10",
                "width=64", "layers=2", "router=switch", "dim=64", "hidden=128", "experts=16", "topK=4",
                "expertKind=GELU", "expertBias=true", "sharedExperts=0", "trainCapacityFactor=1.25",
                "evalCapacityFactor=0.0", "dropOrder=SCORE", "balanceLossWeight=0.02", "balanceScope=MICRO_BATCH",
                "zLossWeight=0.001", "dropout=0.1", "blocks=0")) {
            assertTrue(s.contains(field), field + " missing from " + s);
        }
        assertEquals("moe-cnn", changed.kind());
        assertArrayEquals(new int[] {1, 28, 28}, changed.inputShape());
    }
}
