package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.GradCheck;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class MoeLayerTest {
    private static final double E2 = Math.exp(2);

    /**
     * Three ReLU experts: expert e multiplies by scale[e] (up = scale I, down = I). The router's logits are
     * (x0, x1, 0), so a token along x0 prefers expert 0, along x1 expert 1, and a small token ties 0 and 1.
     */
    private static MoeLayer handBuilt(SoftmaxTopKRouter.Config routerConfig, MoeConfig config) {
        Rng rng = new Rng(1);
        SoftmaxTopKRouter router = new SoftmaxTopKRouter(routerConfig, rng);
        router.weight().value().copyFrom(Tensor.of(new float[] {1, 0, 0, 1, 0, 0}, 3, 2));
        MoeLayer layer = new MoeLayer(config, router, rng);
        float[] scale = {2, 3, 5};
        Tensor up = layer.experts().up().value(), down = layer.experts().down().value();
        for (int e = 0; e < 3; e++) {
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    up.set(i == j ? scale[e] : 0, e, i, j);
                    down.set(i == j ? 1 : 0, e, i, j);
                }
            }
        }
        return layer;
    }

    private static MoeConfig reluConfig(int k) {
        return MoeConfig.of(2, 2, 3, k).withExpertKind(ExpertKind.RELU, false);
    }

    private static float[] run(MoeLayer layer, float[] x, int tokens) {
        try (GradMode scope = GradMode.off()) {
            return layer.forward(Variable.constant(Tensor.of(x, tokens, 2)), RoutingContext.inference("moe"))
                    .output().value().toFloatArray();
        }
    }

    @Test
    void topOneGatesScaleEachTokensOwnExpertInItsOwnRow() {
        MoeLayer layer = handBuilt(SoftmaxTopKRouter.Config.of(2, 3, 1), reluConfig(1));
        float[] y = run(layer, new float[] {2, 0, 0, 2, 0.5f, 0.5f}, 3);
        double p = E2 / (E2 + 2); // softmax of (2, 0, 0) at its maximum
        double tie = Math.exp(0.5) / (2 * Math.exp(0.5) + 1);
        assertArrayEquals(new float[] {(float) (p * 2 * 2), 0, 0, (float) (p * 3 * 2),
                (float) (tie * 2 * 0.5), (float) (tie * 2 * 0.5)}, y, 1e-6f,
                "token 0 to expert 0 (x2), token 1 to expert 1 (x3), the tie to the lower index, expert 0");
    }

    @Test
    void renormalisedAndAfterTopKGatesDifferAsTheirFormulasSay() {
        float[] x = {2, 0};
        float[] renorm = run(handBuilt(SoftmaxTopKRouter.Config.of(2, 3, 1).withRenormalize(true), reluConfig(1)), x, 1);
        assertArrayEquals(new float[] {4, 0}, renorm, 1e-6f, "a renormalised single gate is 1");
        // top-2 of (2, 0, 0) is experts 0 and 1; softmax after top-k over (2, 0); before, over all three.
        float[] after = run(handBuilt(SoftmaxTopKRouter.Config.of(2, 3, 2)
                .withOrder(SoftmaxTopKRouter.SoftmaxOrder.AFTER_TOP_K), reluConfig(2)), x, 1);
        double g0 = E2 / (E2 + 1), g1 = 1 / (E2 + 1);
        assertArrayEquals(new float[] {(float) (g0 * 4 + g1 * 6), 0}, after, 1e-5f);
        float[] before = run(handBuilt(SoftmaxTopKRouter.Config.of(2, 3, 2), reluConfig(2)), x, 1);
        assertArrayEquals(new float[] {(float) ((E2 * 4 + 6) / (E2 + 2)), 0}, before, 1e-5f);
        float[] scaled = run(handBuilt(SoftmaxTopKRouter.Config.of(2, 3, 2).withRoutedScaling(2.5), reluConfig(2)), x, 1);
        assertEquals(2.5f * before[0], scaled[0], 1e-5f);
    }

    @Test
    void sharedExpertsSeeEveryTokenAndTheirGateScalesThem() {
        MoeConfig config = reluConfig(1).withShared(1, 2, false);
        MoeLayer layer = handBuilt(SoftmaxTopKRouter.Config.of(2, 3, 1).withRenormalize(true), config);
        Tensor up = layer.shared().up().value(), down = layer.shared().down().value();
        up.copyFrom(Tensor.of(new float[] {1, 0, 0, 1}, 1, 2, 2));
        down.copyFrom(Tensor.of(new float[] {7, 0, 0, 7}, 1, 2, 2));
        assertArrayEquals(new float[] {4 + 14, 0}, run(layer, new float[] {2, 0}, 1), 1e-5f);
    }

    @Test
    void groupedDroplessPathEqualsTheNaivePerTokenLoopForwardAndBackward() {
        Rng rng = new Rng(7);
        for (ExpertKind kind : ExpertKind.values()) {
            MoeConfig config = MoeConfig.of(12, 20, 5, 2).withExpertKind(kind, kind != ExpertKind.SWIGLU);
            MoeLayer layer = new MoeLayer(config, new SoftmaxTopKRouter(SoftmaxTopKRouter.Config.of(12, 5, 2), rng), rng);
            Variable x = Variable.parameter(TestData.randn(rng, 9, 12));
            Tensor upstream = TestData.randn(rng, 9, 12);

            Variable grouped = layer.forward(x, RoutingContext.inference("moe")).output();
            grouped.backward(upstream);
            Map<String, Tensor> groupedGrads = grads(layer, x);

            layer.zeroGrad();
            x.zeroGrad();
            RouterOutput.Sparse s = (RouterOutput.Sparse) layer.router().route(x, RoutingContext.inference("moe"));
            Variable naive = NaiveMoe.routed(layer.experts(), x, s.assignments(), DispatchPlan.dropless(s.assignments()));
            naive.backward(upstream);
            Map<String, Tensor> naiveGrads = grads(layer, x);

            TestData.assertClose(naive.value(), grouped.value(), 1e-5, 1e-4);
            for (String name : naiveGrads.keySet()) {
                assertNotNull(groupedGrads.get(name), kind + " " + name);
                TestData.assertClose(naiveGrads.get(name), groupedGrads.get(name), 1e-5, 1e-3);
            }
        }
    }

    private static Map<String, Tensor> grads(MoeLayer layer, Variable x) {
        Map<String, Tensor> out = new java.util.TreeMap<>();
        layer.namedParameters().forEach((name, p) -> {
            if (p.grad() != null) out.put(name, p.grad().copy());
        });
        out.put("x", x.grad().copy());
        return out;
    }

    @Test
    void gradcheckOfTheWholeLayerWithSharedGatedExpertAndItsLosses() {
        Rng rng = new Rng(5);
        try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
            MoeConfig config = MoeConfig.of(3, 4, 4, 2).withShared(1, 2, true).withLosses(0.5, BalanceScope.MICRO_BATCH, 0.1);
            MoeLayer layer = new MoeLayer(config, new SoftmaxTopKRouter(SoftmaxTopKRouter.Config.of(3, 4, 2)
                    .withRenormalize(true), rng), rng);
            Variable x = Variable.parameter(TestData.randn64(rng, 5, 3));
            List<Variable> params = new java.util.ArrayList<>(layer.parameters());
            params.add(x);
            GradCheck.Result r = GradCheck.checkParameters(() -> {
                MoeOutput out = layer.forward(x, RoutingContext.training("moe", new Rng(0)));
                // output and auxiliary loss together, so both gradients are checked
                return Arith.add(Reductions.sum(out.output(), 1, false), out.auxLoss());
            }, params);
            assertTrue(r.passed(), r.toString());
        }
    }

    @Test
    void capacityKeepsTheFirstTokensOrTheBestScoredAndCountsEveryDrop() {
        // Eight tokens all prefer expert 0; capacity ceil(1.0 * 8 / 3) = 3 per expert.
        MoeConfig config = reluConfig(1).withCapacity(1.0, 0, DropOrder.POSITION);
        MoeLayer layer = handBuilt(SoftmaxTopKRouter.Config.of(2, 3, 1), config);
        float[] x = new float[16];
        for (int t = 0; t < 8; t++) x[2 * t] = 1 + t; // later tokens have larger logits for expert 0
        MoeOutput out = layer.forward(Variable.constant(Tensor.of(x, 8, 2)), RoutingContext.training("moe", new Rng(1)));
        assertEquals(5, out.stats().totalDropped());
        assertArrayEquals(new long[] {5, 0, 0}, out.stats().dropped());
        float[] y = out.output().value().toFloatArray();
        for (int t = 0; t < 8; t++) assertEquals(t < 3, y[2 * t] != 0, "position order keeps tokens 0-2, token " + t);

        MoeLayer byScore = handBuilt(SoftmaxTopKRouter.Config.of(2, 3, 1), reluConfig(1).withCapacity(1.0, 0, DropOrder.SCORE));
        float[] z = byScore.forward(Variable.constant(Tensor.of(x, 8, 2)), RoutingContext.training("moe", new Rng(1)))
                .output().value().toFloatArray();
        for (int t = 0; t < 8; t++) assertEquals(t >= 5, z[2 * t] != 0, "score order keeps tokens 5-7, token " + t);
        // At inference the eval factor (0 = dropless) applies: nothing is dropped.
        try (GradMode scope = GradMode.off()) {
            assertEquals(0, layer.forward(Variable.constant(Tensor.of(x, 8, 2)), RoutingContext.inference("moe"))
                    .stats().totalDropped());
        }
    }

    @Test
    void nanInTheRouterNamesTheLayer() {
        MoeLayer layer = handBuilt(SoftmaxTopKRouter.Config.of(2, 3, 1), reluConfig(1));
        Moe4jException e = assertThrows(Moe4jException.class, () -> layer.forward(
                Variable.constant(Tensor.of(new float[] {Float.NaN, 0}, 1, 2)), RoutingContext.inference("blocks.4.moe")));
        assertTrue(e.getMessage().contains("blocks.4.moe"), e.getMessage());
    }

    @Test
    void fineGrainedSegmentationKeepsComputeAndMultipliesChoices() {
        MoeConfig fine = MoeConfig.of(16, 64, 8, 2).fineGrained(4);
        assertEquals(16, fine.hidden());
        assertEquals(32, fine.experts());
        assertEquals(8, fine.topK());
        assertThrows(Moe4jException.class, () -> MoeConfig.of(16, 64, 8, 2).fineGrained(3));
    }

    @Test
    void aTokensOutputIsBitIdenticalAloneOrInAnyBatch() {
        Rng rng = new Rng(3);
        MoeConfig config = MoeConfig.of(64, 96, 8, 2).withShared(1, 32, true);
        MoeLayer layer = new MoeLayer(config, new SoftmaxTopKRouter(SoftmaxTopKRouter.Config.of(64, 8, 2), rng), rng);
        Tensor batch = TestData.randn(rng, 32, 64);
        float[] all = runRows(layer, batch);
        int[] order = new int[32];
        for (int i = 0; i < 32; i++) order[i] = i;
        rng.shuffle(order);
        Tensor shuffled = Tensor.zeros(32, 64);
        for (int i = 0; i < 32; i++) shuffled.narrow(0, i, 1).copyFrom(batch.narrow(0, order[i], 1));
        float[] mixed = runRows(layer, shuffled);
        for (int i = 0; i < 32; i++) {
            float[] alone = runRows(layer, batch.narrow(0, order[i], 1).contiguous());
            float[] inBatch = java.util.Arrays.copyOfRange(all, order[i] * 64, order[i] * 64 + 64);
            float[] inShuffled = java.util.Arrays.copyOfRange(mixed, i * 64, i * 64 + 64);
            assertArrayEquals(alone, inBatch, "token " + order[i] + " alone vs in the batch");
            assertArrayEquals(alone, inShuffled, "token " + order[i] + " alone vs in the shuffled batch");
        }
    }

    @Test
    void tokensStayBitIdenticalWhenSizesAreNotMultiplesOfTheVectorWidth() {
        // Odd widths put a token's elements in vector lanes in one batch and in scalar tails in another.
        Rng rng = new Rng(4);
        MoeConfig[] configs = {MoeConfig.of(37, 53, 8, 2).withShared(1, 29, true),
            MoeConfig.of(37, 53, 8, 2).withExpertKind(ExpertKind.GELU, true).withShared(1, 29, false)};
        for (MoeConfig config : configs) {
            MoeLayer layer = new MoeLayer(config, new SoftmaxTopKRouter(SoftmaxTopKRouter.Config.of(37, 8, 2), rng),
                    rng);
            Tensor batch = TestData.randn(rng, 21, 37);
            float[] all = runRows(layer, batch);
            for (int i = 0; i < 21; i++) {
                assertArrayEquals(runRows(layer, batch.narrow(0, i, 1).contiguous()),
                        java.util.Arrays.copyOfRange(all, i * 37, i * 37 + 37), config + ": token " + i);
            }
        }
    }

    private static float[] runRows(MoeLayer layer, Tensor x) {
        try (GradMode scope = GradMode.off()) {
            return layer.forward(Variable.constant(x), RoutingContext.inference("moe")).output().value().toFloatArray();
        }
    }
}
