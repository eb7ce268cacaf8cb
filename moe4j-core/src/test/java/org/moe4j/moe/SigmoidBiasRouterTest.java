package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.moe.RouterFixtures.sigmoid;
import static org.moe4j.moe.RouterLayerChecks.route;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class SigmoidBiasRouterTest {
    private static final RoutingContext TRAIN = RoutingContext.training("moe", new Rng(1));
    private static final RoutingContext EVAL = RoutingContext.inference("moe");

    @Test
    void repeatedBiasUpdatesOnASkewedRouterBalanceTheLoad() {
        SigmoidBiasRouter router = new SigmoidBiasRouter(SigmoidBiasRouter.Config.of(8, 4, 2).withBiasUpdateSpeed(0.05),
                new Rng(11));
        RouterFixtures.skew(router.weight(), 3);
        Tensor x = RouterFixtures.leaningTokens(new Rng(2), 32, 8);
        int[] first = route(router, x, TRAIN).assignments().loadPerExpert();
        double before = RouterLayerChecks.cv(first);
        router.updateBias(first);
        for (int step = 0; step < 40; step++) router.updateBias(route(router, x, TRAIN).assignments().loadPerExpert());
        int[] last = route(router, x, TRAIN).assignments().loadPerExpert();
        double after = RouterLayerChecks.cv(last);
        double[] b = router.selectionBias();
        assertTrue(before > 0.4, "skewed at the start: " + Arrays.toString(first));
        assertTrue(after < before / 3, "load CV " + before + " " + Arrays.toString(first) + " fell only to " + after + " "
                + Arrays.toString(last));
        assertTrue(b[0] < 0, "the overloaded expert 0 became less attractive: " + Arrays.toString(b));
        // the bias is state, not a parameter: the optimizer never sees it
        assertEquals(1, router.parameters().size());
    }

    @Test
    void updateBiasMovesEachExpertByGammaTowardTheMeanLoad() {
        SigmoidBiasRouter router = new SigmoidBiasRouter(SigmoidBiasRouter.Config.of(2, 4, 1).withBiasUpdateSpeed(0.5),
                new Rng(1));
        router.updateBias(new long[] {10, 2, 4, 4}); // mean 5
        assertArrayEquals(new double[] {-0.5, 0.5, 0.5, 0.5}, router.selectionBias(), 0);
        router.updateBias(new int[] {5, 5, 9, 1});
        assertArrayEquals(new double[] {-0.5, 0.5, 0, 1}, router.selectionBias(), 0);
        router.selectionBias()[0] = 100; // a copy: telemetry cannot change the routing
        assertEquals(-0.5, router.selectionBias()[0]);
    }

    /**
     * Logits (x0, x1, 0), experts scale by 2, 3 and 5, k = 2. Token 0's scores (sigma(2), 1/2, 1/2) tie between
     * experts 1 and 2; a bias (0, -0.1, 0.1) moves the choice to expert 2, yet the gates stay the unbiased scores,
     * normalised over the two chosen. Token 1 (0, 1) goes to experts 1 and 2 with the bias.
     */
    @Test
    void theBiasSelectsButTheGatesAreTheUnbiasedScores() {
        SigmoidBiasRouter router = new SigmoidBiasRouter(SigmoidBiasRouter.Config.of(2, 3, 2), new Rng(1));
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 1, 0, 0);
        MoeLayer layer = RouterFixtures.scaledReluLayer(router, 2, 2, 3, 5);
        float[] x = {2, 0, 0, 1};
        double s2 = sigmoid(2), s1 = sigmoid(1);
        float[] unbiased = RouterLayerChecks.run(layer, x, 2, EVAL);
        assertArrayEquals(new float[] {(float) ((s2 * 4 + 0.5 * 6) / (s2 + 0.5)), 0,
                0, (float) ((s1 * 3 + 0.5 * 2) / (s1 + 0.5))}, unbiased, 1e-5f, "no bias: ties to the lower expert");

        router.setSelectionBias(new double[] {0, -0.1, 0.1});
        float[] biased = RouterLayerChecks.run(layer, x, 2, EVAL);
        assertArrayEquals(new float[] {(float) ((s2 * 4 + 0.5 * 10) / (s2 + 0.5)), 0,
                0, (float) ((s1 * 3 + 0.5 * 5) / (s1 + 0.5))}, biased, 1e-5f);

        SigmoidBiasRouter raw = new SigmoidBiasRouter(SigmoidBiasRouter.Config.of(2, 3, 2).withNormTopkProb(false)
                .withRoutedScaling(2.5), new Rng(1));
        RouterFixtures.setWeight(raw.weight(), 1, 0, 0, 1, 0, 0);
        raw.setSelectionBias(new double[] {0, -0.1, 0.1});
        float[] scaled = RouterLayerChecks.run(RouterFixtures.scaledReluLayer(raw, 2, 2, 3, 5), x, 2, EVAL);
        assertArrayEquals(new float[] {(float) (2.5 * (s2 * 4 + 0.5 * 10)), 0, 0, (float) (2.5 * (s1 * 3 + 0.5 * 5))},
                scaled, 1e-5f, "without normalisation the gates are the scores times the routed scaling");
    }

    /**
     * Scores sigma(3, -5, 2, 2) in groups {0, 1} and {2, 3}: V3's group score (sum of the top two) prefers the
     * second group although expert 0 scores highest, and the bias enters the group scores too.
     */
    @Test
    void groupLimitedSelectionKeepsTheGroupWithTheBestTopTwoSum() {
        SigmoidBiasRouter.Config config = SigmoidBiasRouter.Config.of(4, 4, 2).withGroups(2, 1);
        SigmoidBiasRouter router = new SigmoidBiasRouter(config, new Rng(1));
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1);
        Tensor x = Tensor.of(new float[] {3, -5, 2, 2}, 1, 4);
        assertArrayEquals(new int[] {2, 3}, route(router, x, EVAL).assignments().expert());

        SigmoidBiasRouter ungrouped = new SigmoidBiasRouter(config.withGroups(1, 1), new Rng(1));
        RouterFixtures.setWeight(ungrouped.weight(), 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1);
        assertArrayEquals(new int[] {0, 2}, route(ungrouped, x, EVAL).assignments().expert());

        router.setSelectionBias(new double[] {0, 1, 0, 0});
        RouterOutput.Sparse s = route(router, x, EVAL);
        assertArrayEquals(new int[] {1, 0}, s.assignments().expert());
        double s0 = sigmoid(3), s1 = sigmoid(-5);
        TestData.assertClose(new double[] {s1 / (s0 + s1), s0 / (s0 + s1)}, s.assignments().gates().value()
                .toDoubleArray(), 1e-6, 1e-5);
    }

    /** V3's sequence-wise balance loss: per sequence, E * sum_i f_i P_i with P from the per-token normalised scores. */
    @Test
    void theSequenceBalanceLossUsesScoresNormalisedPerToken() {
        int experts = 4, k = 2, tokens = 7;
        int[] starts = {0, 3};
        MoeConfig config = MoeConfig.of(5, 6, experts, k).withLosses(1.0, BalanceScope.SEQUENCE, 0);
        SigmoidBiasRouter router = new SigmoidBiasRouter(SigmoidBiasRouter.Config.of(5, experts, k), new Rng(4));
        MoeLayer layer = new MoeLayer(config, router, new Rng(4));
        Tensor x = TestData.randn(new Rng(6), tokens, 5);
        RoutingContext ctx = TRAIN.withSequenceStarts(starts);
        try (GradMode scope = GradMode.off()) {
            double aux = layer.forward(Variable.constant(x), ctx).auxLoss().value().item();
            RouterOutput.Sparse s = route(router, x, ctx);
            double[] logits = s.logits().value().toDoubleArray();
            double[] probs = s.probs().value().toDoubleArray();
            double expected = 0;
            for (int q = 0; q < starts.length; q++) {
                int from = starts[q], to = q + 1 < starts.length ? starts[q + 1] : tokens;
                double[] meanP = new double[experts];
                int[] count = new int[experts];
                for (int t = from; t < to; t++) {
                    double sum = 0;
                    for (int e = 0; e < experts; e++) sum += sigmoid(logits[t * experts + e]);
                    for (int e = 0; e < experts; e++) {
                        double normalised = sigmoid(logits[t * experts + e]) / sum;
                        assertEquals(normalised, probs[t * experts + e], 1e-6, "probs are s / sum(s)");
                        meanP[e] += normalised / (to - from);
                    }
                }
                for (int a = 0; a < s.assignments().size(); a++) {
                    int t = s.assignments().token()[a];
                    if (t >= from && t < to) count[s.assignments().expert()[a]]++;
                }
                double loss = 0;
                for (int e = 0; e < experts; e++) loss += (double) count[e] / ((to - from) * k) * meanP[e];
                expected += experts * loss / starts.length;
            }
            assertEquals(expected, aux, 1e-5);
        }
    }

    @Test
    void groupedDroplessLayerEqualsTheNaiveLoopWithGroupsAndABias() {
        MoeConfig config = MoeConfig.of(6, 10, 6, 3);
        for (RoutingContext ctx : new RoutingContext[] {TRAIN, EVAL}) {
            RouterLayerChecks.assertGroupedEqualsNaive(rng -> {
                SigmoidBiasRouter r = new SigmoidBiasRouter(SigmoidBiasRouter.Config.of(6, 6, 3).withGroups(3, 2), rng);
                r.setSelectionBias(new double[] {0.05, -0.02, 0, 0.1, -0.05, 0});
                return r;
            }, config, 8, ctx);
        }
    }

    @Test
    void gradcheckOfTheWholeLayerWithTheSequenceBalanceLoss() {
        MoeConfig config = MoeConfig.of(3, 4, 6, 3).withLosses(0.5, BalanceScope.SEQUENCE, 0.1);
        RouterLayerChecks.assertLayerGradcheck(rng -> {
            SigmoidBiasRouter r = new SigmoidBiasRouter(SigmoidBiasRouter.Config.of(3, 6, 3).withGroups(3, 2)
                    .withRoutedScaling(2.5), rng);
            r.setSelectionBias(new double[] {0.05, -0.02, 0, 0.1, -0.05, 0});
            return r;
        }, config, 7, TRAIN.withSequenceStarts(new int[] {0, 4}));
    }

    @Test
    void catalogEntryBuildsARouterForTheLayer() {
        Router r = SigmoidBiasRouter.INFO.create(MoeConfig.of(8, 16, 4, 2), new Rng(1));
        assertEquals(4, r.experts());
        assertArrayEquals(new double[4], r.selectionBias(), "the bias starts at zero");
        assertEquals("sigmoid-bias", SigmoidBiasRouter.INFO.name());
        assertNull(new SoftmaxTopKRouter(SoftmaxTopKRouter.Config.of(4, 4, 1), new Rng(1)).selectionBias());
    }

    @Test
    void misuseFailsWithAMessage() {
        SigmoidBiasRouter.Config c = SigmoidBiasRouter.Config.of(4, 6, 2);
        Moe4jException groups = assertThrows(Moe4jException.class, () -> c.withGroups(4, 1));
        assertTrue(groups.getMessage().contains("sigmoid-bias router") && groups.getMessage().contains("divide"),
                groups.getMessage());
        assertThrows(Moe4jException.class, () -> c.withGroups(3, 4));
        assertThrows(Moe4jException.class, () -> c.withK(1).withGroups(6, 1), "groups of one expert have no top-two sum");
        assertThrows(Moe4jException.class, () -> c.withK(5).withGroups(3, 2), "k above the experts of 2 groups of 2");
        assertThrows(Moe4jException.class, () -> c.withBiasUpdateSpeed(-1e-3));
        assertThrows(Moe4jException.class, () -> c.withRoutedScaling(0));

        SigmoidBiasRouter router = new SigmoidBiasRouter(c, new Rng(1));
        Moe4jException length = assertThrows(Moe4jException.class, () -> router.updateBias(new long[] {1, 2}));
        assertTrue(length.getMessage().contains("6 experts"), length.getMessage());
        assertThrows(Moe4jException.class, () -> router.updateBias(new long[] {1, 2, 3, 4, 5, -6}));
        assertThrows(Moe4jException.class, () -> router.setSelectionBias(new double[5]));
        assertThrows(Moe4jException.class, () -> router.setSelectionBias(new double[] {0, 0, Double.NaN, 0, 0, 0}));
        assertArrayEquals(new double[6], router.selectionBias(), "a refused update changes nothing");
    }
}
