package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.moe.RouterLayerChecks.route;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class SwitchRouterTest {
    /** x ∘ u in double, u drawn U(1 - eps, 1 + eps) from {@code seed} in the router's row-major order. */
    private static Tensor jittered(Tensor x, double eps, long seed) {
        Rng rng = new Rng(seed);
        double[] v = x.toDoubleArray();
        for (int i = 0; i < v.length; i++) v[i] *= rng.uniform(1 - eps, 1 + eps);
        return Tensor.ofDoubles(v, x.shape());
    }

    @Test
    void exactlyOneExpertPerTokenTheMostProbableWithItsProbabilityAsGate() {
        Rng rng = new Rng(21);
        SwitchRouter router = new SwitchRouter(SwitchRouter.Config.of(6, 5), rng);
        router.weight().value().copyFrom(TestData.randn(rng, 5, 6));
        Tensor x = TestData.randn(rng, 9, 6);
        RouterOutput.Sparse s = route(router, x, RoutingContext.inference("moe"));
        double[][] l = RouterFixtures.logits(x, router.weight().value());
        Assignments a = s.assignments();
        assertEquals(9, a.size());
        float[] gates = a.gates().value().toFloatArray();
        for (int t = 0; t < 9; t++) {
            assertEquals(t, a.token()[t]);
            int best = 0;
            double z = 0;
            for (int e = 0; e < 5; e++) {
                if (l[t][e] > l[t][best]) best = e;
                z += Math.exp(l[t][e]);
            }
            assertEquals(best, a.expert()[t], "token " + t);
            assertEquals(Math.exp(l[t][best]) / z, gates[t], 1e-5);
        }
        assertNull(s.routerLoss());
    }

    @Test
    void jitterScalesTheInputInTrainingOnlyFromTheSeed() {
        Rng rng = new Rng(22);
        SwitchRouter router = new SwitchRouter(SwitchRouter.Config.of(6, 4).withJitter(0.2), rng);
        Tensor x = TestData.randn(rng, 200, 6);
        Tensor w = router.weight().value();
        float[] train = route(router, x, RoutingContext.training("moe", new Rng(7))).logits().value().toFloatArray();
        float[] again = route(router, x, RoutingContext.training("moe", new Rng(7))).logits().value().toFloatArray();
        float[] other = route(router, x, RoutingContext.training("moe", new Rng(8))).logits().value().toFloatArray();
        float[] eval = route(router, x, RoutingContext.inference("moe")).logits().value().toFloatArray();
        assertArrayEquals(train, again, "the same seed jitters the same way");
        assertFalse(Arrays.equals(train, other), "another seed jitters differently");
        double[] expected = Arrays.stream(RouterFixtures.logits(jittered(x, 0.2, 7), w)).flatMapToDouble(Arrays::stream)
                .toArray();
        double[] clean = Arrays.stream(RouterFixtures.logits(x, w)).flatMapToDouble(Arrays::stream).toArray();
        TestData.assertClose(expected, toDoubles(train), 1e-5, 1e-5);
        TestData.assertClose(clean, toDoubles(eval), 1e-5, 1e-5);
        assertFalse(Arrays.equals(train, eval), "training differs from inference");
        int[] trainExperts = route(router, x, RoutingContext.training("moe", new Rng(7))).assignments().expert();
        int[] evalExperts = route(router, x, RoutingContext.inference("moe")).assignments().expert();
        assertFalse(Arrays.equals(trainExperts, evalExperts), "jitter of 0.2 flips some close choices");
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Test
    void handBuiltGateWeightsGiveClosedFormOutputsForABatch() {
        SwitchRouter router = new SwitchRouter(SwitchRouter.Config.of(2, 3), new Rng(1));
        RouterFixtures.setWeight(router.weight(), 2, 0, 0, 2, 1.5f, 1.5f);
        MoeLayer layer = RouterFixtures.scaledReluLayer(router);
        float[] y = RouterLayerChecks.run(layer, new float[] {2, 0, 0, 1, 1, 1}, 3, RoutingContext.inference("moe"));
        double e = Math.E;
        double p0 = Math.pow(e, 4) / (Math.pow(e, 4) + 1 + Math.pow(e, 3)); // logits (4, 0, 3): expert 0
        double p1 = e * e / (1 + e * e + Math.pow(e, 1.5)); // logits (0, 2, 1.5): expert 1
        double p2 = Math.pow(e, 3) / (2 * e * e + Math.pow(e, 3)); // logits (2, 2, 3): expert 2
        float[] expected = {(float) (p0 * 2 * 2), 0, 0, (float) (p1 * 3), (float) (p2 * 5), (float) (p2 * 5)};
        assertArrayEquals(expected, y, 1e-5f);
    }

    @Test
    void groupedDroplessLayerEqualsTheNaiveLoopWithJitterAndWithout() {
        Rng rng = new Rng(23);
        MoeLayer layer = new MoeLayer(MoeConfig.of(12, 20, 5, 1), new SwitchRouter(SwitchRouter.Config.of(12, 5), rng), rng);
        Variable x = Variable.parameter(TestData.randn(rng, 9, 12));
        Tensor upstream = TestData.randn(rng, 9, 12);
        RouterLayerChecks.assertGroupedEqualsNaive(layer, x, () -> RoutingContext.training("moe", new Rng(3)), upstream);
        RouterLayerChecks.assertGroupedEqualsNaive(layer, x, () -> RoutingContext.inference("moe"), upstream);
    }

    @Test
    void gradcheckOfTheWholeLayerWithJitterAndBalanceLoss() {
        Rng rng = new Rng(24);
        try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
            MoeConfig config = MoeConfig.of(3, 4, 4, 1).withLosses(0.5, BalanceScope.MICRO_BATCH, 0.1);
            MoeLayer layer = new MoeLayer(config, new SwitchRouter(SwitchRouter.Config.of(3, 4).withJitter(0.1), rng), rng);
            Variable x = Variable.parameter(TestData.randn64(rng, 5, 3));
            RouterLayerChecks.assertLayerGradcheck(layer, x, () -> RoutingContext.training("moe", new Rng(0)));
        }
    }

    @Test
    void misuseGetsClearErrors() {
        SwitchRouter router = new SwitchRouter(SwitchRouter.Config.of(2, 3), new Rng(1));
        Tensor x = Tensor.of(new float[] {1, 2}, 1, 2);
        RoutingContext noRng = new RoutingContext("blocks.1.moe", true, null, null, null, null);
        Moe4jException e = assertThrows(Moe4jException.class, () -> route(router, x, noRng));
        assertTrue(e.getMessage().contains("blocks.1.moe") && e.getMessage().contains("Rng"), e.getMessage());
        SwitchRouter still = new SwitchRouter(SwitchRouter.Config.of(2, 3).withJitter(0), new Rng(1));
        assertEquals(1, route(still, x, noRng).assignments().size(), "without jitter training needs no Rng");
        assertThrows(Moe4jException.class, () -> SwitchRouter.Config.of(2, 3).withJitter(1));
        assertThrows(Moe4jException.class, () -> SwitchRouter.Config.of(2, 3).withJitter(-0.1));
        assertThrows(Moe4jException.class, () -> SwitchRouter.Config.of(2, 3).withJitter(Double.NaN));
        assertThrows(Moe4jException.class, () -> SwitchRouter.Config.of(0, 3));
        assertEquals(0.01, SwitchRouter.Config.of(2, 3).jitter());
    }
}
