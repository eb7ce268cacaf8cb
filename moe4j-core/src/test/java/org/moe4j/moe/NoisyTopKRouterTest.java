package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.moe.RouterLayerChecks.route;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.GradCheck;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.kernel.ErrorFunction;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class NoisyTopKRouterTest {
    private static final double E2 = Math.exp(2);

    /** A router with standard-normal Wg and 0.5-scaled Wnoise, in the current Init dtype. */
    private static NoisyTopKRouter random(NoisyTopKRouter.Config config, Rng rng) {
        NoisyTopKRouter r = new NoisyTopKRouter(config);
        r.weight().value().copyFrom(TestData.randn(rng, config.experts(), config.dim()));
        Tensor wn = TestData.randn(rng, config.experts(), config.dim());
        for (int i = 0; i < wn.numel(); i++) wn.floats()[i] *= 0.5f;
        r.noiseWeight().value().copyFrom(wn);
        return r;
    }

    /** The paper's noisy logits H, with the noise redrawn from {@code seed} in the router's row-major order. */
    private static double[][] noisyLogits(double[][] clean, double[][] rawNoise, double eps, long seed) {
        Rng rng = new Rng(seed);
        double[][] h = new double[clean.length][];
        for (int t = 0; t < clean.length; t++) {
            h[t] = new double[clean[t].length];
            for (int e = 0; e < h[t].length; e++) h[t][e] = clean[t][e] + rng.normal() * (softplus(rawNoise[t][e]) + eps);
        }
        return h;
    }

    private static double softplus(double v) {
        return Math.log1p(Math.exp(v));
    }

    /** Indices of the k largest, descending, ties to the lower index. */
    private static int[] topK(double[] v, int k) {
        Integer[] order = new Integer[v.length];
        for (int i = 0; i < v.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> v[a] != v[b] ? Double.compare(v[b], v[a]) : Integer.compare(a, b));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) out[i] = order[i];
        return out;
    }

    private static double squaredCv(double[] v) {
        double mean = 0, var = 0;
        for (double x : v) mean += x / v.length;
        for (double x : v) var += (x - mean) * (x - mean) / v.length;
        return var / (mean * mean + 1e-10);
    }

    private static RoutingContext train(long seed) {
        return RoutingContext.training("moe", new Rng(seed));
    }

    @Test
    void atInferenceThereIsNoNoiseAndTheGatesAreASoftmaxOverTheKeptLogits() {
        Rng rng = new Rng(11);
        NoisyTopKRouter router = random(NoisyTopKRouter.Config.of(6, 5, 2), rng);
        Tensor x = TestData.randn(rng, 7, 6);
        RouterOutput.Sparse s = route(router, x, RoutingContext.inference("moe"));
        double[][] logits = RouterFixtures.logits(x, router.weight().value());
        Assignments a = s.assignments();
        assertEquals(14, a.size());
        float[] gates = a.gates().value().toFloatArray();
        for (int t = 0; t < 7; t++) {
            int[] kept = topK(logits[t], 2);
            double z = Math.exp(logits[t][kept[0]]) + Math.exp(logits[t][kept[1]]);
            for (int slot = 0; slot < 2; slot++) {
                assertEquals(t, a.token()[2 * t + slot]);
                assertEquals(kept[slot], a.expert()[2 * t + slot], "token " + t + " slot " + slot);
                assertEquals(Math.exp(logits[t][kept[slot]]) / z, gates[2 * t + slot], 1e-5);
            }
        }
        assertNull(s.routerLoss(), "the balancing losses are for training");
        assertNull(s.probs());
    }

    @Test
    void handBuiltGateWeightsGiveClosedFormOutputsForABatch() {
        NoisyTopKRouter router = new NoisyTopKRouter(NoisyTopKRouter.Config.of(2, 3, 2));
        // logits (x0, x1, 0); experts scale by 2, 3, 5
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 1, 0, 0);
        MoeLayer layer = RouterFixtures.scaledReluLayer(router);
        float[] y = RouterLayerChecks.run(layer, new float[] {2, 0, 0, 2, 0.5f, 1}, 3, RoutingContext.inference("moe"));
        double g0 = Math.exp(0.5) / (Math.exp(0.5) + Math.E), g1 = Math.E / (Math.exp(0.5) + Math.E);
        float[] expected = {
            (float) ((4 * E2 + 6) / (E2 + 1)), 0, // experts 0 and 1 (1 beats 2 on the tie), gates softmax(2, 0)
            0, (float) ((6 * E2 + 4) / (E2 + 1)), // experts 1 and 0
            (float) ((g0 * 2 + g1 * 3) * 0.5), (float) (g0 * 2 + g1 * 3) // experts 1 and 0, gates softmax(1, 0.5)
        };
        assertArrayEquals(expected, y, 1e-5f);
    }

    @Test
    void trainingNoiseIsLearnedScaleTimesSeededNormalsAndChangesChoices() {
        Rng rng = new Rng(12);
        NoisyTopKRouter.Config config = NoisyTopKRouter.Config.of(6, 5, 2);
        NoisyTopKRouter router = random(config, rng);
        Tensor x = TestData.randn(rng, 40, 6);
        RouterOutput.Sparse s = route(router, x, train(3));
        RouterOutput.Sparse again = route(router, x, train(3));
        RouterOutput.Sparse other = route(router, x, train(4));
        RouterOutput.Sparse clean = route(router, x, RoutingContext.inference("moe"));
        assertArrayEquals(s.assignments().expert(), again.assignments().expert(), "same seed, same choices");
        assertArrayEquals(s.assignments().gates().value().toFloatArray(), again.assignments().gates().value().toFloatArray());
        assertFalse(Arrays.equals(s.assignments().expert(), clean.assignments().expert()), "noise changes choices");
        assertFalse(Arrays.equals(s.assignments().expert(), other.assignments().expert()), "another seed, other noise");

        double[][] h = noisyLogits(RouterFixtures.logits(x, router.weight().value()),
                RouterFixtures.logits(x, router.noiseWeight().value()), config.noiseEpsilon(), 3);
        float[] gates = s.assignments().gates().value().toFloatArray();
        for (int t = 0; t < 40; t++) {
            int[] kept = topK(h[t], 2);
            double z = Math.exp(h[t][kept[0]]) + Math.exp(h[t][kept[1]]);
            for (int slot = 0; slot < 2; slot++) {
                assertEquals(kept[slot], s.assignments().expert()[2 * t + slot], "token " + t);
                assertEquals(Math.exp(h[t][kept[slot]]) / z, gates[2 * t + slot], 1e-5);
            }
        }
    }

    @Test
    void routerLossIsTheWeightedImportanceAndSmoothLoadOfThePaper() {
        Rng rng = new Rng(13);
        int tokens = 9, dim = 4, experts = 5, k = 2;
        try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
            NoisyTopKRouter.Config config = NoisyTopKRouter.Config.of(dim, experts, k).withLossWeights(0.3, 0.7);
            NoisyTopKRouter router = random(config, rng);
            Tensor x = TestData.randn64(rng, tokens, dim);
            double loss = route(router, x, train(5)).routerLoss().value().item();

            double[][] clean = RouterFixtures.logits(x, router.weight().value());
            double[][] raw = RouterFixtures.logits(x, router.noiseWeight().value());
            double[][] h = noisyLogits(clean, raw, config.noiseEpsilon(), 5);
            double[] importance = new double[experts];
            double[] load = new double[experts];
            for (int t = 0; t < tokens; t++) {
                int[] kept = topK(h[t], k);
                double z = 0;
                for (int e : kept) z += Math.exp(h[t][e]);
                for (int e : kept) importance[e] += Math.exp(h[t][e]) / z;
                for (int i = 0; i < experts; i++) {
                    // kth_excluding(H, k, i): the k-th largest of the other experts' noisy logits
                    double[] others = new double[experts - 1];
                    for (int j = 0, n = 0; j < experts; j++) if (j != i) others[n++] = h[t][j];
                    Arrays.sort(others);
                    double kth = others[others.length - k];
                    load[i] += ErrorFunction.normalCdf((clean[t][i] - kth) / (softplus(raw[t][i]) + config.noiseEpsilon()));
                }
            }
            assertEquals(0.3 * squaredCv(importance) + 0.7 * squaredCv(load), loss, 1e-12);
        }
    }

    @Test
    void gradcheckOfTheImportanceAndTheLoadLossEachAlone() {
        Rng rng = new Rng(14);
        try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
            for (double[] w : new double[][] {{1, 0}, {0, 1}}) {
                NoisyTopKRouter router = random(NoisyTopKRouter.Config.of(3, 4, 2).withLossWeights(w[0], w[1]), rng);
                Variable x = Variable.parameter(TestData.randn64(rng, 6, 3));
                GradCheck.Result r = GradCheck.checkParameters(
                        () -> ((RouterOutput.Sparse) router.route(x, train(0))).routerLoss(),
                        List.of(router.weight(), router.noiseWeight(), x));
                assertTrue(r.passed(), "weights " + Arrays.toString(w) + ": " + r);
                assertNotNull(router.noiseWeight().grad());
            }
        }
    }

    @Test
    void gradcheckOfTheWholeLayerInTrainingWithItsRouterLoss() {
        Rng rng = new Rng(15);
        try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
            NoisyTopKRouter router = random(NoisyTopKRouter.Config.of(3, 4, 2), rng);
            MoeLayer layer = new MoeLayer(MoeConfig.of(3, 4, 4, 2), router, rng);
            Variable x = Variable.parameter(TestData.randn64(rng, 5, 3));
            RouterLayerChecks.assertLayerGradcheck(layer, x, () -> train(0));
        }
    }

    @Test
    void groupedDroplessLayerEqualsTheNaiveLoopInTrainingAndInference() {
        Rng rng = new Rng(16);
        NoisyTopKRouter router = random(NoisyTopKRouter.Config.of(12, 5, 2), rng);
        MoeLayer layer = new MoeLayer(MoeConfig.of(12, 20, 5, 2), router, rng);
        Variable x = Variable.parameter(TestData.randn(rng, 9, 12));
        Tensor upstream = TestData.randn(rng, 9, 12);
        RouterLayerChecks.assertGroupedEqualsNaive(layer, x, () -> train(2), upstream);
        RouterLayerChecks.assertGroupedEqualsNaive(layer, x, () -> RoutingContext.inference("moe"), upstream);
    }

    @Test
    void misuseGetsClearErrors() {
        NoisyTopKRouter router = new NoisyTopKRouter(NoisyTopKRouter.Config.of(2, 3, 1));
        Variable x = Variable.constant(Tensor.of(new float[] {1, 2}, 1, 2));
        Moe4jException e = assertThrows(Moe4jException.class,
                () -> router.route(x, new RoutingContext("blocks.2.moe", true, null, null, null, null)));
        assertTrue(e.getMessage().contains("blocks.2.moe") && e.getMessage().contains("Rng"), e.getMessage());
        assertThrows(Moe4jException.class, () -> NoisyTopKRouter.Config.of(2, 3, 0));
        assertThrows(Moe4jException.class, () -> NoisyTopKRouter.Config.of(2, 3, 4));
        assertThrows(Moe4jException.class, () -> NoisyTopKRouter.Config.of(2, 3, 1).withLossWeights(-1, 0));
        assertThrows(Moe4jException.class, () -> NoisyTopKRouter.Config.of(2, 3, 1).withLossWeights(0, Double.NaN));
        assertThrows(Moe4jException.class, () -> NoisyTopKRouter.Config.of(2, 3, 1).withNoiseEpsilon(-1e-3));
        Moe4jException nan = assertThrows(Moe4jException.class, () -> router.route(
                Variable.constant(Tensor.of(new float[] {Float.NaN, 0}, 1, 2)), RoutingContext.inference("blocks.3.moe")));
        assertTrue(nan.getMessage().contains("blocks.3.moe"), nan.getMessage());
    }

    @Test
    void withEveryExpertKeptTheLoadLossVanishesAndTheFactoryFollowsTheLayer() {
        Rng rng = new Rng(17);
        NoisyTopKRouter router = random(NoisyTopKRouter.Config.of(3, 3, 3).withLossWeights(0, 1), rng);
        RouterOutput.Sparse s = route(router, TestData.randn(rng, 4, 3), train(1));
        assertNull(s.routerLoss(), "k = experts: every expert is always chosen, so there is no load to balance");
        assertEquals(12, s.assignments().size());
        NoisyTopKRouter made = (NoisyTopKRouter) NoisyTopKRouter.INFO.create(MoeConfig.of(8, 16, 4, 2), rng);
        assertEquals(NoisyTopKRouter.Config.of(8, 4, 2), made.config());
    }
}
