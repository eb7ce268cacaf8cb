package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.moe.RouterLayerChecks.route;

import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class TopPRouterTest {
    private static final RoutingContext TRAIN = RoutingContext.training("moe", new Rng(1));
    private static final RoutingContext EVAL = RoutingContext.inference("moe");
    private static final double E2 = Math.exp(2);

    @Test
    void eachTokenTakesTheShortestPrefixReachingPOrTheCapAndTheCountVaries() {
        int experts = 8, cap = 4, tokens = 64;
        double p = 0.5;
        TopPRouter router = new TopPRouter(TopPRouter.Config.of(8, experts).withThreshold(p).withMaxK(cap), new Rng(9));
        Rng rng = new Rng(2);
        Tensor x = TestData.randn(rng, tokens, 8);
        for (int t = 0; t < tokens; t++) { // confident (large) and uncertain (small) tokens
            float scale = t % 2 == 0 ? 4f : 0.3f;
            for (int d = 0; d < 8; d++) x.set(x.get(t, d) * scale, t, d);
        }
        RouterOutput.Sparse s = route(router, x, EVAL);
        Assignments a = s.assignments();
        double[] probs = s.probs().value().toDoubleArray();
        float[] gates = a.gates().value().toFloatArray();
        Set<Integer> counts = new TreeSet<>();
        int i = 0;
        for (int t = 0; t < tokens; t++) {
            int n = 0;
            double mass = 0, last = 0, previous = Double.POSITIVE_INFINITY;
            for (; i < a.size() && a.token()[i] == t; i++, n++) {
                double q = probs[t * experts + a.expert()[i]];
                assertEquals(q, gates[i], 1e-7, "the gate is the probability itself");
                assertTrue(q <= previous, "token " + t + ": experts in descending probability");
                for (int e = 0; e < experts; e++) {
                    boolean taken = false;
                    for (int j = i - n; j <= i; j++) taken |= a.expert()[j] == e;
                    assertTrue(taken || probs[t * experts + e] <= q, "token " + t + ": a likelier expert was skipped");
                }
                previous = q;
                last = q;
                mass += q;
            }
            assertTrue(n >= 1 && n <= cap, "token " + t + " has " + n + " experts");
            assertTrue(mass >= p || n == cap, "token " + t + ": mass " + mass + " below p with " + n + " experts");
            assertTrue(n == 1 || mass - last < p, "token " + t + ": the prefix without its last expert already reached p");
            counts.add(n);
        }
        assertEquals(a.size(), i);
        assertTrue(counts.size() >= 3, "confident and uncertain tokens take different numbers of experts: " + counts);
    }

    /**
     * Logits (x0, x1, 0), experts scale by 2, 3 and 5. Token 0 (2, 0) has probabilities (e^2, 1, 1) / (e^2 + 2), its
     * best one 0.79 alone reaches 0.4; token 1 (0.5, 0.5) has (0.38, 0.38, 0.23) and needs two. Gates are the raw
     * probabilities. At p = 0.9 token 0 needs all three (0.79 + 0.11 < 0.9), or two under a cap of 2.
     */
    @Test
    void handBuiltWeightsGiveTheClosedFormWithoutRenormalisation() {
        float[] x = {2, 0, 0.5f, 0.5f};
        double z0 = E2 + 2, a0 = E2 / z0, b0 = 1 / z0;
        double z1 = 2 * Math.exp(0.5) + 1, a1 = Math.exp(0.5) / z1, c1 = 1 / z1;

        float[] y = RouterLayerChecks.run(layer(TopPRouter.Config.of(2, 3)), x, 2, EVAL);
        assertArrayEquals(new float[] {(float) (a0 * 4), 0, (float) (0.5 * 5 * a1), (float) (0.5 * 5 * a1)}, y, 1e-5f);

        float[] all = RouterLayerChecks.run(layer(TopPRouter.Config.of(2, 3).withThreshold(0.9)), x, 2, EVAL);
        double t1 = 0.5 * (5 * a1 + 5 * c1);
        assertArrayEquals(new float[] {(float) (2 * (2 * a0 + 3 * b0 + 5 * b0)), 0, (float) t1, (float) t1}, all, 1e-5f);

        float[] capped = RouterLayerChecks.run(layer(TopPRouter.Config.of(2, 3).withThreshold(0.9).withMaxK(2)), x, 2,
                EVAL);
        assertArrayEquals(new float[] {(float) (2 * (2 * a0 + 3 * b0)), 0, (float) (0.5 * 5 * a1),
                (float) (0.5 * 5 * a1)}, capped, 1e-5f);
    }

    private static MoeLayer layer(TopPRouter.Config config) {
        TopPRouter router = new TopPRouter(config, new Rng(1));
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 1, 0, 0);
        return RouterFixtures.scaledReluLayer(router, 2, 2, 3, 5);
    }

    @Test
    void theDynamicLossIsTheWeightedMeanEntropyInTrainingOnly() {
        TopPRouter router = new TopPRouter(TopPRouter.Config.of(2, 3).withDynamicLossWeight(0.25), new Rng(1));
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 1, 0, 0);
        Tensor x = Tensor.of(new float[] {2, 0, 0.5f, 0.5f}, 2, 2);
        double z0 = E2 + 2, z1 = 2 * Math.exp(0.5) + 1;
        double h0 = -(E2 / z0 * Math.log(E2 / z0) + 2 / z0 * Math.log(1 / z0));
        double h1 = -(2 * Math.exp(0.5) / z1 * Math.log(Math.exp(0.5) / z1) + 1 / z1 * Math.log(1 / z1));
        assertEquals(0.25 * (h0 + h1) / 2, route(router, x, TRAIN).routerLoss().value().item(), 1e-6);
        assertNull(route(router, x, EVAL).routerLoss(), "no auxiliary loss at inference");
        TopPRouter off = new TopPRouter(TopPRouter.Config.of(2, 3).withDynamicLossWeight(0), new Rng(1));
        assertNull(route(off, x, TRAIN).routerLoss(), "weight 0 turns the loss off");
    }

    @Test
    void groupedDroplessLayerEqualsTheNaiveLoop() {
        MoeConfig config = MoeConfig.of(6, 10, 4, 2);
        for (RoutingContext ctx : new RoutingContext[] {TRAIN, EVAL}) {
            RouterLayerChecks.assertGroupedEqualsNaive(
                    rng -> new TopPRouter(TopPRouter.Config.of(6, 4).withThreshold(0.6).withMaxK(3), rng), config, 8, ctx);
        }
    }

    @Test
    void gradcheckOfTheWholeLayerWithTheDynamicAndBalanceLosses() {
        MoeConfig config = MoeConfig.of(3, 4, 4, 2).withLosses(0.5, BalanceScope.MICRO_BATCH, 0.1);
        RouterLayerChecks.assertLayerGradcheck(
                rng -> new TopPRouter(TopPRouter.Config.of(3, 4).withThreshold(0.5).withDynamicLossWeight(0.3), rng),
                config, 7, TRAIN);
    }

    @Test
    void catalogEntryBuildsARouterForTheLayer() {
        TopPRouter r = (TopPRouter) TopPRouter.INFO.create(MoeConfig.of(8, 16, 4, 2), new Rng(1));
        assertEquals(4, r.experts());
        assertEquals(0.4, r.config().threshold());
        assertEquals("topp", TopPRouter.INFO.name());
    }

    @Test
    void misuseFailsWithAMessage() {
        TopPRouter.Config c = TopPRouter.Config.of(4, 4);
        Moe4jException p = assertThrows(Moe4jException.class, () -> c.withThreshold(0));
        assertTrue(p.getMessage().contains("top-p router") && p.getMessage().contains("(0, 1]"), p.getMessage());
        assertThrows(Moe4jException.class, () -> c.withThreshold(1.5));
        assertThrows(Moe4jException.class, () -> c.withThreshold(Double.NaN));
        assertThrows(Moe4jException.class, () -> c.withMaxK(0));
        assertThrows(Moe4jException.class, () -> c.withMaxK(5));
        assertThrows(Moe4jException.class, () -> c.withDynamicLossWeight(-1));
        assertThrows(Moe4jException.class, () -> c.withDynamicLossWeight(Double.POSITIVE_INFINITY));
        assertThrows(Moe4jException.class, () -> TopPRouter.Config.of(4, 0));
    }
}
