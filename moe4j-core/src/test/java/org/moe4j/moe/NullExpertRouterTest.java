package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.moe.NullExpertRouter.GateNorm;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class NullExpertRouterTest {
    private static final double E = Math.E;

    /**
     * Two ReLU experts scaling by 2 and 3, two null slots, k = 2. Router rows: expert 0 (1, 0), expert 1 (0, 1),
     * null 0 (-0.5, -0.5), null 1 (-1, -1). Token (2, 0) scores (2, 0, -1, -2): both real experts. Token (2, -1)
     * scores (2, -1, -0.5, -1): expert 0 and null 0. Token (-2, -2) scores (-2, -2, 2, 4): both null slots.
     */
    private static MoeLayer handBuilt(GateNorm norm, double balanceWeight) {
        Rng rng = new Rng(1);
        NullExpertRouter router = new NullExpertRouter(new NullExpertRouter.Config(2, 2, 2, 2, norm, balanceWeight), rng);
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 1, -0.5f, -0.5f, -1, -1);
        return RouterFixtures.scaledReluLayer(router, 2, 2, 3);
    }

    private static final float[] THREE_TOKENS = {2, 0, 2, -1, -2, -2};

    private static MoeOutput run(MoeLayer layer, float[] x, RoutingContext ctx) {
        return layer.forward(Variable.constant(Tensor.of(x, x.length / 2, 2)), ctx);
    }

    @Test
    void tokensUseTwoOneOrNoRealExpertsWithGatesNormalisedOverTheirKSlots() {
        MoeOutput out;
        try (GradMode scope = GradMode.off()) {
            out = run(handBuilt(GateNorm.TOP_K, 0), THREE_TOKENS, RoutingContext.inference("moe"));
        }
        double a0 = E * E / (E * E + 1), a1 = 1 / (E * E + 1);
        double b0 = E * E / (E * E + Math.exp(-0.5));
        assertArrayEquals(new float[] {(float) (a0 * 2 * 2 + a1 * 3 * 2), 0, (float) (b0 * 2 * 2), 0, 0, 0},
                out.output().value().toFloatArray(), 1e-5f);
        // Three expert rows computed instead of the six of plain top-2: the null choices are really skipped.
        assertEquals(3, out.stats().totalRouted());
        assertArrayEquals(new long[] {2, 1}, out.stats().routed());
    }

    @Test
    void theOtherNormalisationsFollowTheirFormulas() {
        float[] none, realOnly;
        try (GradMode scope = GradMode.off()) {
            none = run(handBuilt(GateNorm.NONE, 0), THREE_TOKENS, RoutingContext.inference("moe")).output().value().toFloatArray();
            realOnly = run(handBuilt(GateNorm.REAL_CHOSEN, 0), THREE_TOKENS, RoutingContext.inference("moe"))
                    .output().value().toFloatArray();
        }
        double za = E * E + 1 + Math.exp(-1) + Math.exp(-2); // softmax denominators over all four slots
        double zb = E * E + Math.exp(-1) + Math.exp(-0.5) + Math.exp(-1);
        assertArrayEquals(new float[] {(float) ((E * E * 4 + 6) / za), 0, (float) (E * E / zb * 4), 0, 0, 0}, none, 1e-5f);
        // Over the chosen real experts only: token 1's lone expert gets gate 1.
        double a0 = E * E / (E * E + 1), a1 = 1 / (E * E + 1);
        assertArrayEquals(new float[] {(float) (a0 * 4 + a1 * 6), 0, 4, 0, 0, 0}, realOnly, 1e-5f);
    }

    @Test
    void theBalanceLossCountsNullSlotsLikeExpertsAndIsTheOnlyAuxLoss() {
        MoeLayer layer = handBuilt(GateNorm.TOP_K, 0.5);
        MoeOutput out = run(layer, THREE_TOKENS, RoutingContext.training("moe", new Rng(2)));
        // choices: (e0, e1), (e0, null0), (null1, null0) -> slot loads (2, 1, 2, 1) of 6
        double[] f = {2 / 6.0, 1 / 6.0, 2 / 6.0, 1 / 6.0};
        double[][] logits = {{2, 0, -1, -2}, {2, -1, -0.5, -1}, {-2, -2, 2, 4}};
        double[] meanP = new double[4];
        for (double[] l : logits) {
            double z = 0;
            for (double v : l) z += Math.exp(v);
            for (int s = 0; s < 4; s++) meanP[s] += Math.exp(l[s]) / z / 3;
        }
        double expected = 0;
        for (int s = 0; s < 4; s++) expected += 4 * f[s] * meanP[s];
        // The layer's own balance loss (weight 0.01 by default) does not apply: the router gives no probabilities.
        assertEquals(0.5 * expected, out.auxLoss().value().item(), 1e-6);
        try (GradMode scope = GradMode.off()) {
            assertEquals(null, run(layer, THREE_TOKENS, RoutingContext.inference("moe")).auxLoss(), "no loss at inference");
        }
    }

    @Test
    void preferringNullSlotsComputesFewerRowsAndAnAllNullTokenGetsExactlyZero() {
        Rng rng = new Rng(3);
        int dim = 8, tokens = 12, k = 4;
        Tensor x = TestData.uniform(rng, 0.1, 1.0, tokens, dim); // positive, so a constant null row shifts every token
        long[] rows = new long[3];
        double[] nullRowValue = {-1, 0.04, 1};
        for (int c = 0; c < 3; c++) {
            NullExpertRouter router = new NullExpertRouter(NullExpertRouter.Config.of(dim, 4, 4, k), new Rng(4));
            Tensor w = router.weight().value();
            for (int s = 4; s < 8; s++) for (int j = 0; j < dim; j++) w.set(nullRowValue[c], s, j);
            MoeLayer layer = new MoeLayer(MoeConfig.of(dim, 6, 4, 2), router, new Rng(5));
            MoeOutput out;
            try (GradMode scope = GradMode.off()) {
                out = layer.forward(Variable.constant(x), RoutingContext.inference("moe"));
                RouterOutput.Sparse s = RouterLayerChecks.route(router, x, RoutingContext.inference("moe"));
                assertEquals(DispatchPlan.dropless(s.assignments()).rows(), out.stats().totalRouted());
                // each token's real choices are its top-4 slots below index 4
                float[] logits = s.logits().value().toFloatArray();
                int real = 0;
                for (int t = 0; t < tokens; t++) {
                    int mine = 0;
                    for (int e = 0; e < 4; e++) {
                        int above = 0;
                        for (int o = 0; o < 8; o++) if (logits[t * 8 + o] > logits[t * 8 + e]) above++;
                        if (above < k) mine++;
                    }
                    real += mine;
                    if (mine == 0) {
                        for (int j = 0; j < dim; j++) assertEquals(0f, out.output().value().get(t, j), "token " + t);
                    }
                }
                assertEquals(real, out.stats().totalRouted());
            }
            rows[c] = out.stats().totalRouted();
        }
        assertEquals((long) tokens * k, rows[0], "null slots scored low are never chosen");
        assertTrue(rows[1] < rows[0] && rows[1] > 0, "some tokens skip experts: " + rows[1]);
        assertEquals(0, rows[2], "null slots scored high take every choice");
    }

    @Test
    void withoutNullSlotsItIsRenormalisedTopK() {
        Rng rng = new Rng(6);
        Tensor x = TestData.randn(rng, 7, 5);
        NullExpertRouter nul = new NullExpertRouter(NullExpertRouter.Config.of(5, 4, 0, 2), rng);
        SoftmaxTopKRouter topK = new SoftmaxTopKRouter(SoftmaxTopKRouter.Config.of(5, 4, 2).withRenormalize(true), rng);
        topK.weight().value().copyFrom(nul.weight().value());
        try (GradMode scope = GradMode.off()) {
            Assignments a = RouterLayerChecks.route(nul, x, RoutingContext.inference("m")).assignments();
            Assignments b = RouterLayerChecks.route(topK, x, RoutingContext.inference("m")).assignments();
            assertArrayEquals(b.expert(), a.expert());
            assertArrayEquals(b.token(), a.token());
            assertArrayEquals(b.gates().value().toFloatArray(), a.gates().value().toFloatArray(), 1e-6f);
        }
    }

    @Test
    void groupedPathEqualsTheNaiveLoopForwardAndBackward() {
        Rng rng = new Rng(7);
        for (GateNorm norm : GateNorm.values()) {
            MoeConfig config = MoeConfig.of(12, 20, 5, 2);
            NullExpertRouter router = new NullExpertRouter(NullExpertRouter.Config.of(12, 5, 3, 3).withNorm(norm), rng);
            MoeLayer layer = new MoeLayer(config, router, rng);
            Variable x = Variable.parameter(TestData.randn(rng, 9, 12));
            Tensor upstream = TestData.randn(rng, 9, 12);
            RoutingContext eval = RoutingContext.inference("moe");
            RouterLayerChecks.assertLayerEqualsNaive(layer, x, eval, upstream, () -> {
                Assignments a = ((RouterOutput.Sparse) router.route(x, eval)).assignments();
                assertTrue(a.size() < 9 * 3, norm + ": some choices land on null slots");
                return a;
            });
        }
    }

    @Test
    void gradcheckOfTheWholeLayerWithItsLosses() {
        for (GateNorm norm : GateNorm.values()) {
            Rng rng = new Rng(8);
            try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
                MoeConfig config = MoeConfig.of(3, 4, 4, 2).withLosses(0.5, BalanceScope.MICRO_BATCH, 0.1);
                NullExpertRouter router = new NullExpertRouter(new NullExpertRouter.Config(3, 4, 2, 3, norm, 0.3), rng);
                MoeLayer layer = new MoeLayer(config, router, rng);
                Variable x = Variable.parameter(TestData.randn64(rng, 6, 3));
                RouterLayerChecks.assertLayerGradcheck(layer, x, () -> RoutingContext.training("moe", new Rng(0)));
            }
        }
    }

    @Test
    void misuseNamesTheRouter() {
        for (Runnable bad : new Runnable[] {
                () -> NullExpertRouter.Config.of(4, 4, 2, 7),
                () -> NullExpertRouter.Config.of(4, 4, -1, 2),
                () -> NullExpertRouter.Config.of(4, 4, 2, 0),
                () -> NullExpertRouter.Config.of(4, 4, 2, 2).withBalanceWeight(-1),
                () -> NullExpertRouter.Config.of(4, 4, 2, 2).withNorm(null)}) {
            Moe4jException e = assertThrows(Moe4jException.class, bad::run);
            assertTrue(e.getMessage().contains("null-expert router"), e.getMessage());
        }
        NullExpertRouter router = new NullExpertRouter(NullExpertRouter.Config.of(4, 4, 2, 2), new Rng(1));
        assertThrows(Moe4jException.class, () -> new MoeLayer(MoeConfig.of(4, 8, 6, 2), router, new Rng(1)));
    }
}
