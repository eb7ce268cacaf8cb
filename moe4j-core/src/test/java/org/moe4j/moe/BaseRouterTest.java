package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.moe.RouterFixtures.sigmoid;
import static org.moe4j.moe.RouterLayerChecks.route;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;

class BaseRouterTest {
    private static final RoutingContext TRAIN = RoutingContext.training("moe", new Rng(1));
    private static final RoutingContext EVAL = RoutingContext.inference("moe");

    private static BaseRouter skewedRouter(int dim, int experts) {
        BaseRouter router = new BaseRouter(new BaseRouter.Config(dim, experts), new Rng(11));
        RouterFixtures.skew(router.weight(), 3);
        return router;
    }

    @Test
    void trainingGivesEveryExpertExactlyItsShareWhereGreedyWouldOverloadOne() {
        BaseRouter router = skewedRouter(8, 4);
        Tensor x = RouterFixtures.leaningTokens(new Rng(2), 24, 8);
        int[] greedy = route(router, x, EVAL).assignments().loadPerExpert();
        assertTrue(greedy[0] > 12, "the skewed router sends most tokens to expert 0 greedily: " + Arrays.toString(greedy));

        Assignments a = route(router, x, TRAIN).assignments();
        assertEquals(24, a.size(), "one expert per token");
        assertArrayEquals(new int[] {6, 6, 6, 6}, a.loadPerExpert());
    }

    @Test
    void anUnevenBatchCapsEachExpertAtCeilOfTheShare() {
        BaseRouter router = skewedRouter(8, 4);
        Assignments a = route(router, RouterFixtures.leaningTokens(new Rng(3), 26, 8), TRAIN).assignments();
        assertEquals(26, a.size());
        for (int load : a.loadPerExpert()) assertTrue(load <= 7, Arrays.toString(a.loadPerExpert()));
        assertEquals(7, BaseRouter.capacity(26, 4));
        assertEquals(6, BaseRouter.capacity(24, 4));
    }

    @Test
    void inferenceTakesEachTokensBestExpertWhateverElseIsInTheBatch() {
        BaseRouter router = skewedRouter(8, 4);
        Tensor x = RouterFixtures.leaningTokens(new Rng(4), 10, 8);
        Assignments batch = route(router, x, EVAL).assignments();
        float[] logits = route(router, x, EVAL).logits().value().toFloatArray();
        for (int t = 0; t < 10; t++) {
            int best = 0;
            for (int e = 1; e < 4; e++) if (logits[t * 4 + e] > logits[t * 4 + best]) best = e;
            assertEquals(best, batch.expert()[t], "token " + t);
            Assignments alone = route(router, x.narrow(0, t, 1).contiguous(), EVAL).assignments();
            assertEquals(batch.expert()[t], alone.expert()[0], "token " + t + " alone");
        }
    }

    /**
     * Router logits are x itself (W = I), experts scale by 2 and 3. Both tokens prefer expert 0, so inference sends
     * both there; training must split them, and the split with the larger total (2 + 0.5 against 0 + 1) sends token
     * 1 to expert 1. Each output is sigmoid(score of the chosen expert) times the expert's output.
     */
    @Test
    void handBuiltWeightsGiveTheClosedFormInTrainingAndInference() {
        BaseRouter router = new BaseRouter(new BaseRouter.Config(2, 2), new Rng(1));
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 1);
        MoeLayer layer = RouterFixtures.scaledReluLayer(router, 2, 2, 3);
        float[] x = {2, 0, 1, 0.5f};
        float[] train = RouterLayerChecks.run(layer, x, 2, TRAIN);
        double g0 = sigmoid(2), g1 = sigmoid(0.5);
        assertArrayEquals(new float[] {(float) (g0 * 2 * 2), 0, (float) (g1 * 3 * 1), (float) (g1 * 3 * 0.5)}, train,
                1e-6f);
        float[] eval = RouterLayerChecks.run(layer, x, 2, EVAL);
        double h1 = sigmoid(1);
        assertArrayEquals(new float[] {(float) (g0 * 2 * 2), 0, (float) (h1 * 2 * 1), (float) (h1 * 2 * 0.5)}, eval,
                1e-6f);
    }

    @Test
    void groupedDroplessLayerEqualsTheNaiveLoopInTrainingAndInference() {
        MoeConfig config = MoeConfig.of(6, 10, 4, 1);
        for (RoutingContext ctx : new RoutingContext[] {TRAIN, EVAL}) {
            RouterLayerChecks.assertGroupedEqualsNaive(rng -> new BaseRouter(new BaseRouter.Config(6, 4), rng), config,
                    8, ctx);
        }
    }

    @Test
    void gradcheckOfTheWholeLayerInTraining() {
        MoeConfig config = MoeConfig.of(3, 4, 4, 1).withLosses(0.5, BalanceScope.MICRO_BATCH, 0.1);
        RouterLayerChecks.assertLayerGradcheck(rng -> new BaseRouter(new BaseRouter.Config(3, 4), rng), config, 8, TRAIN);
    }

    @Test
    void catalogEntryBuildsARouterForTheLayer() {
        Router r = BaseRouter.INFO.create(MoeConfig.of(8, 16, 4, 2), new Rng(1));
        assertEquals(4, r.experts());
        assertEquals("base", BaseRouter.INFO.name());
        assertEquals(null, r.selectionBias());
    }

    @Test
    void misuseFailsWithAMessage() {
        assertTrue(assertThrows(Moe4jException.class, () -> new BaseRouter.Config(0, 4)).getMessage().contains("BASE"));
        assertThrows(Moe4jException.class, () -> new BaseRouter.Config(4, 4).withExperts(0));
        BaseRouter router = new BaseRouter(new BaseRouter.Config(4, 3), new Rng(1));
        assertThrows(ShapeException.class, () -> router.route(Variable.constant(Tensor.zeros(2, 5)), EVAL));
        Moe4jException nan = assertThrows(Moe4jException.class, () -> router.route(
                Variable.constant(Tensor.of(new float[] {Float.NaN, 0, 0, 0}, 1, 4)), TRAIN.withLayer("blocks.2.moe")));
        assertTrue(nan.getMessage().contains("blocks.2.moe"), nan.getMessage());
    }
}
