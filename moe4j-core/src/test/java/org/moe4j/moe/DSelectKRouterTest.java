package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class DSelectKRouterTest {
    private static final RoutingContext EVAL = RoutingContext.inference("moe");

    /** The smooth step with gamma 1, written out: 0 below -1/2, 1 above 1/2, -2t^3 + 3t/2 + 1/2 between. */
    private static double step(double t) {
        return t <= -0.5 ? 0 : t >= 0.5 ? 1 : -2 * t * t * t + 1.5 * t + 0.5;
    }

    private static float[] weights(DSelectKRouter router, Tensor x) {
        return RouterLayerChecks.route(router, x, EVAL).probs().value().toFloatArray();
    }

    @Test
    void weightsAreNonNegativeAndSumToOne() {
        Rng rng = new Rng(1);
        for (int experts : new int[] {2, 8, 16}) {
            DSelectKRouter router = new DSelectKRouter(DSelectKRouter.Config.of(6, experts, 3 % experts + 1), rng);
            router.codeWeight().value().copyFrom(TestData.randn(rng, router.codeWeight().shape()));
            float[] w = weights(router, TestData.randn(rng, 7, 6));
            for (int t = 0; t < 7; t++) {
                double sum = 0;
                for (int e = 0; e < experts; e++) {
                    assertTrue(w[t * experts + e] >= 0, "weight " + w[t * experts + e]);
                    sum += w[t * experts + e];
                }
                assertEquals(1.0, sum, 1e-6, "token " + t + " of " + experts + " experts");
            }
        }
    }

    /**
     * Eight experts, codes of three bits. Selector 0's code logits are (10, -10, 10) x0 and selector 1's the
     * negation, so for x0 = 1 selector 0 picks 0b101 = 5 and selector 1 picks 0b010 = 2 (swapped for x0 < 0);
     * |10 x0| >= 1/2 saturates every step. Selector 2 copies selector 0.
     */
    @Test
    void saturatedCodesGiveExactlyKNonzeroWeightsAndOnlyThoseAreComputed() {
        Rng rng = new Rng(2);
        DSelectKRouter router = new DSelectKRouter(DSelectKRouter.Config.of(3, 8, 3), rng);
        float[] code = new float[9 * 3];
        float[] sign = {1, -1, 1, -1, 1, -1, 1, -1, 1};
        for (int row = 0; row < 9; row++) code[row * 3] = 10 * sign[row];
        RouterFixtures.setWeight(router.codeWeight(), code);
        float[] x = {1, 0.3f, -2, -1, 1, 1, 0.5f, 0, 0, -3, 2, 2};
        float[] w = weights(router, Tensor.of(x, 4, 3));
        for (int t = 0; t < 4; t++) {
            int nonzero = 0;
            for (int e = 0; e < 8; e++) {
                boolean chosen = e == 2 || e == 5;
                assertEquals(chosen, w[t * 8 + e] != 0, "token " + t + " expert " + e);
                if (chosen) nonzero++;
            }
            assertEquals(2, nonzero, "k = 3 selectors, two of them agreeing");
            assertEquals(1.0, w[t * 8 + 2] + w[t * 8 + 5], 1e-6);
        }
        MoeLayer layer = new MoeLayer(MoeConfig.of(3, 4, 8, 2), router, rng);
        try (GradMode scope = GradMode.off()) {
            MoeOutput out = layer.forward(Variable.constant(Tensor.of(x, 4, 3)), EVAL);
            assertEquals(8, out.stats().totalRouted(), "two rows per token, not eight");
            assertArrayEquals(new long[] {0, 0, 4, 0, 0, 4, 0, 0}, out.stats().routed());
        }
    }

    /**
     * Four ReLU experts scaling by (2, 3, 5, 7), dim 2, k 2, gamma 1. Code logits: selector 0 (x0 / 4, x1),
     * selector 1 (-x0, 0.3 x1); selector logits (x0, 0). For token (1, 1): selector 0 has S(1/4) = 0.84375 and
     * S(1) = 1, so r0 = (0, 0, 0.15625, 0.84375); selector 1 has S(-1) = 0 and S(0.3) = 0.896, so
     * r1 = (0.104, 0, 0.896, 0); alpha = (e, 1) / (e + 1).
     */
    @Test
    void handBuiltWeightsAndOutputsMatchTheClosedFormForSeveralTokens() {
        Rng rng = new Rng(3);
        DSelectKRouter router = new DSelectKRouter(DSelectKRouter.Config.of(2, 4, 2), rng);
        RouterFixtures.setWeight(router.codeWeight(), 0.25f, 0, 0, 1, -1, 0, 0, 0.3f);
        RouterFixtures.setWeight(router.selectorWeight(), 1, 0, 0, 0);
        float[] scale = {2, 3, 5, 7};
        MoeLayer layer = RouterFixtures.scaledReluLayer(router, 2, scale);

        float[] x = {1, 1, 2, -1, -1, 0.5f, 0.2f, -0.1f};
        float[] w = weights(router, Tensor.of(x, 4, 2));
        double a0 = Math.E / (Math.E + 1), a1 = 1 / (Math.E + 1);
        assertArrayEquals(new float[] {(float) (a1 * 0.104), 0, (float) (a0 * 0.15625 + a1 * 0.896), (float) (a0 * 0.84375)},
                java.util.Arrays.copyOf(w, 4), 1e-6f);
        assertEquals(0f, w[1], "a saturated step makes the weight exactly 0");

        float[] y = RouterLayerChecks.run(layer, x, 4, EVAL);
        for (int t = 0; t < 4; t++) {
            double x0 = x[2 * t], x1 = x[2 * t + 1];
            double[][] z = {{x0 / 4, x1}, {-x0, 0.3 * x1}};
            double alpha0 = Math.exp(x0) / (Math.exp(x0) + 1);
            double[] alpha = {alpha0, 1 - alpha0};
            double gain = 0;
            for (int e = 0; e < 4; e++) {
                double we = 0;
                for (int i = 0; i < 2; i++) {
                    double r = 1;
                    for (int j = 0; j < 2; j++) r *= ((e >> j) & 1) == 1 ? step(z[i][j]) : 1 - step(z[i][j]);
                    we += alpha[i] * r;
                }
                assertEquals(we, w[t * 4 + e], 1e-6, "token " + t + " expert " + e);
                gain += we * scale[e];
            }
            assertEquals(gain * Math.max(x0, 0), y[2 * t], 1e-5, "token " + t);
            assertEquals(gain * Math.max(x1, 0), y[2 * t + 1], 1e-5, "token " + t);
        }
    }

    @Test
    void groupedPathEqualsTheNaiveLoopAndTheDenseMixtureForwardAndBackward() {
        Rng rng = new Rng(4);
        DSelectKRouter router = new DSelectKRouter(DSelectKRouter.Config.of(6, 8, 2), rng);
        // Code logits of spread ~0.5 around the band of width 1: some steps saturate, some do not.
        Tensor cw = router.codeWeight().value();
        cw.copyFrom(TestData.randn(rng, cw.shape()));
        for (int i = 0; i < cw.numel(); i++) cw.floats()[i] *= 0.2f;
        MoeLayer layer = new MoeLayer(MoeConfig.of(6, 10, 8, 2), router, rng);
        Variable x = Variable.parameter(TestData.randn(rng, 7, 6));
        Tensor upstream = TestData.randn(rng, 7, 6);
        for (boolean dense : new boolean[] {false, true}) {
            RouterLayerChecks.assertLayerEqualsNaive(layer, x, EVAL, upstream, () -> {
                RouterOutput.Sparse s = (RouterOutput.Sparse) router.route(x, EVAL);
                int size = s.assignments().size();
                assertTrue(size < 7 * 8 && size > 7 * 2, "partly sparse: " + size + " assignments");
                // The dense mixture also runs the zero-weight experts: skipping them changes no value and no gradient.
                return dense ? NaiveMoe.dense(s.probs()) : s.assignments();
            });
        }
    }

    @Test
    void entropyRegularizerIsTheMeanSelectorEntropyAndVanishesForBinaryCodes() {
        Rng rng = new Rng(5);
        DSelectKRouter router = new DSelectKRouter(DSelectKRouter.Config.of(2, 4, 2).withEntropyWeight(0.5), rng);
        RouterFixtures.setWeight(router.codeWeight(), 0.25f, 0, 0, 1, -1, 0, 0, 0.3f);
        RoutingContext train = RoutingContext.training("moe", rng);
        RouterOutput.Sparse s = RouterLayerChecks.route(router, Tensor.of(new float[] {1, 1}, 1, 2), train);
        double h0 = -(0.15625 * Math.log(0.15625 + 1e-6) + 0.84375 * Math.log(0.84375 + 1e-6) + Math.log(1 + 1e-6));
        double h1 = -(0.104 * Math.log(0.104 + 1e-6) + 0.896 * Math.log(0.896 + 1e-6) + 2 * Math.log(1 + 1e-6));
        // zero entries contribute 0 log(1e-6) = 0; the exact ones contribute -log(1 + 1e-6) ~ -1e-6
        h0 += Math.log(1 + 1e-6);
        h1 += 2 * Math.log(1 + 1e-6);
        assertEquals(0.5 * (h0 + h1), s.routerLoss().value().item(), 1e-6);

        RouterFixtures.setWeight(router.codeWeight(), 5, 0, 0, 5, -5, 0, 0, 5);
        s = RouterLayerChecks.route(router, Tensor.of(new float[] {1, 1, -1, 2}, 2, 2), train);
        assertEquals(0, s.routerLoss().value().item(), 1e-5, "binary codes have zero entropy");
        assertNull(RouterLayerChecks.route(router, Tensor.of(new float[] {1, 1}, 1, 2), EVAL).routerLoss(), "training only");
    }

    @Test
    void gradcheckOfTheWholeLayerWithEntropyAndBalanceLosses() {
        Rng rng = new Rng(6);
        try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
            MoeConfig config = MoeConfig.of(3, 4, 4, 2).withLosses(0.5, BalanceScope.MICRO_BATCH, 0);
            DSelectKRouter router = new DSelectKRouter(DSelectKRouter.Config.of(3, 4, 2).withEntropyWeight(0.3), rng);
            Tensor cw = router.codeWeight().value();
            for (int i = 0; i < cw.numel(); i++) cw.doubles()[i] = 0.3 * rng.normal(); // partly saturated
            MoeLayer layer = new MoeLayer(config, router, rng);
            Variable x = Variable.parameter(TestData.randn64(rng, 6, 3));
            RouterLayerChecks.assertLayerGradcheck(layer, x, () -> RoutingContext.training("moe", new Rng(0)));
        }
    }

    @Test
    void misuseNamesTheRouter() {
        Moe4jException e = assertThrows(Moe4jException.class, () -> DSelectKRouter.Config.of(4, 6, 2));
        assertTrue(e.getMessage().contains("dselect-k router") && e.getMessage().contains("power of two"), e.getMessage());
        for (Runnable bad : new Runnable[] {
                () -> DSelectKRouter.Config.of(4, 1, 1),
                () -> DSelectKRouter.Config.of(4, 8, 0),
                () -> DSelectKRouter.Config.of(4, 8, 9),
                () -> DSelectKRouter.Config.of(4, 8, 2).withGamma(0),
                () -> DSelectKRouter.Config.of(4, 8, 2).withEntropyWeight(-1)}) {
            Moe4jException m = assertThrows(Moe4jException.class, bad::run);
            assertTrue(m.getMessage().contains("dselect-k router"), m.getMessage());
        }
        DSelectKRouter router = new DSelectKRouter(DSelectKRouter.Config.of(2, 4, 2), new Rng(1));
        Moe4jException nan = assertThrows(Moe4jException.class, () -> router.route(
                Variable.constant(Tensor.of(new float[] {Float.NaN, 0}, 1, 2)), RoutingContext.inference("blocks.2.moe")));
        assertTrue(nan.getMessage().contains("blocks.2.moe"), nan.getMessage());
    }
}
