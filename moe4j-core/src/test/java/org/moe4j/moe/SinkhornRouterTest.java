package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.moe.RouterFixtures.sigmoid;
import static org.moe4j.moe.RouterLayerChecks.route;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;

class SinkhornRouterTest {
    private static final RoutingContext TRAIN = RoutingContext.training("moe", new Rng(1));
    private static final RoutingContext EVAL = RoutingContext.inference("moe");
    private static final double E2 = Math.exp(2);

    @Test
    void trainingSpreadsTheLoadOfASkewedRouterFarMoreEvenlyThanPlainTopK() {
        for (int k : new int[] {1, 2}) {
            SinkhornRouter router = new SinkhornRouter(SinkhornRouter.Config.of(8, 4, k), new Rng(11));
            RouterFixtures.skew(router.weight(), 3);
            Tensor x = RouterFixtures.leaningTokens(new Rng(2), 64, 8);
            int[] plain = route(router, x, EVAL).assignments().loadPerExpert();
            int[] balanced = route(router, x, TRAIN).assignments().loadPerExpert();
            double plainCv = RouterLayerChecks.cv(plain), balancedCv = RouterLayerChecks.cv(balanced);
            assertTrue(plainCv > 0.5, "k=" + k + ": the router is skewed: " + Arrays.toString(plain));
            assertTrue(balancedCv < plainCv / 2, "k=" + k + ": load CV " + balancedCv + " " + Arrays.toString(balanced)
                    + " against plain top-k " + plainCv + " " + Arrays.toString(plain));
            assertEquals(64 * k, route(router, x, TRAIN).assignments().size(), "k experts per token");
        }
    }

    /**
     * Logits are x (W = I), experts scale by 2 and 3, k = 1. Both tokens prefer expert 0, which plain top-k (inference)
     * follows. Sinkhorn scales exp(logits) to [[a, 1-a], [1-a, a]], keeping the cross ratio: a^2 / (1-a)^2 =
     * e^(2 + 0.5 - 0 - 1), so a > 1/2 and training sends token 1 to expert 1. Gates are sigmoid(logit).
     */
    @Test
    void handBuiltTopOneGivesTheClosedFormInTrainingAndInference() {
        SinkhornRouter router = new SinkhornRouter(SinkhornRouter.Config.of(2, 2, 1), new Rng(1));
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 1);
        MoeLayer layer = RouterFixtures.scaledReluLayer(router, 2, 2, 3);
        float[] x = {2, 0, 1, 0.5f};
        double g0 = sigmoid(2), g1 = sigmoid(0.5), h1 = sigmoid(1);
        assertArrayEquals(new float[] {(float) (g0 * 4), 0, (float) (g1 * 3), (float) (g1 * 1.5)},
                RouterLayerChecks.run(layer, x, 2, TRAIN), 1e-6f);
        assertArrayEquals(new float[] {(float) (g0 * 4), 0, (float) (h1 * 2), (float) (h1 * 1)},
                RouterLayerChecks.run(layer, x, 2, EVAL), 1e-6f);
    }

    /** k = 2 over three experts: the gates are softmax over all three logits, gathered and not renormalised. */
    @Test
    void handBuiltTopTwoGatesAreSoftmaxOverAllExperts() {
        SinkhornRouter router = new SinkhornRouter(SinkhornRouter.Config.of(2, 3, 2), new Rng(1));
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 1, 0, 0); // logits (x0, x1, 0)
        MoeLayer layer = RouterFixtures.scaledReluLayer(router, 2, 2, 3, 5);
        float[] y = RouterLayerChecks.run(layer, new float[] {2, 0, 0, 2}, 2, EVAL);
        double z = E2 + 2;
        // token 0: experts 0 (e^2/z, x2) and 1 (1/z, x3); token 1: experts 1 (e^2/z, x3) and 0 (1/z, x2)
        assertArrayEquals(new float[] {(float) ((E2 * 4 + 6) / z), 0, 0, (float) ((E2 * 6 + 4) / z)}, y, 1e-5f);
    }

    @Test
    void groupedDroplessLayerEqualsTheNaiveLoopInTrainingAndInference() {
        for (int k : new int[] {1, 2}) {
            MoeConfig config = MoeConfig.of(6, 10, 4, k);
            for (RoutingContext ctx : new RoutingContext[] {TRAIN, EVAL}) {
                RouterLayerChecks.assertGroupedEqualsNaive(
                        rng -> new SinkhornRouter(SinkhornRouter.Config.of(6, 4, k), rng), config, 8, ctx);
            }
        }
    }

    @Test
    void gradcheckOfTheWholeLayerInTraining() {
        for (int k : new int[] {1, 2}) {
            MoeConfig config = MoeConfig.of(3, 4, 4, k).withLosses(0, BalanceScope.MICRO_BATCH, 0.1);
            RouterLayerChecks.assertLayerGradcheck(rng -> new SinkhornRouter(SinkhornRouter.Config.of(3, 4, k), rng),
                    config, 7, TRAIN);
        }
    }

    @Test
    void catalogEntryBuildsARouterForTheLayer() {
        SinkhornRouter r = (SinkhornRouter) SinkhornRouter.INFO.create(MoeConfig.of(8, 16, 4, 2), new Rng(1));
        assertEquals(4, r.experts());
        assertEquals(2, r.config().k());
        assertEquals("sinkhorn", SinkhornRouter.INFO.name());
    }

    @Test
    void misuseFailsWithAMessage() {
        Moe4jException k = assertThrows(Moe4jException.class, () -> SinkhornRouter.Config.of(4, 3, 4));
        assertTrue(k.getMessage().contains("sinkhorn router") && k.getMessage().contains("k must be"), k.getMessage());
        assertThrows(Moe4jException.class, () -> SinkhornRouter.Config.of(4, 3, 1).withSinkhorn(0, 1e-4));
        assertThrows(Moe4jException.class, () -> SinkhornRouter.Config.of(4, 3, 1).withSinkhorn(10, 0));
        assertThrows(Moe4jException.class, () -> SinkhornRouter.Config.of(4, 3, 1).withSinkhorn(10, Double.NaN));
        assertThrows(Moe4jException.class, () -> SinkhornRouter.Config.of(0, 3, 1));
    }
}
