package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.moe.RouterLayerChecks.route;

import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class ExpertChoiceRouterTest {
    private static final RoutingContext EVAL = RoutingContext.inference("moe");

    /** Router logits (x0, x1, 0) over three experts. */
    private static ExpertChoiceRouter handBuiltRouter(double capacityFactor) {
        ExpertChoiceRouter router = new ExpertChoiceRouter(new ExpertChoiceRouter.Config(2, 3, capacityFactor), new Rng(1));
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 1, 0, 0);
        return router;
    }

    @Test
    void everyExpertGetsExactlyItsCapacityWithItsProbabilitiesAsGates() {
        Rng rng = new Rng(31);
        int[][] shapes = {{16, 4}, {33, 7}, {10, 4}, {3, 5}};
        for (int[] shape : shapes) {
            int tokens = shape[0], experts = shape[1];
            for (double factor : new double[] {0.5, 1, 1.2, 2}) {
                ExpertChoiceRouter router = new ExpertChoiceRouter(new ExpertChoiceRouter.Config(6, experts, factor), rng);
                RouterOutput.Sparse s = route(router, TestData.randn(rng, tokens, 6), EVAL);
                int capacity = ExpertChoice.capacity(tokens, experts, factor);
                assertTrue(capacity >= Math.min(tokens, Math.floor(tokens * factor / experts)));
                int[] load = s.assignments().loadPerExpert();
                for (int e = 0; e < experts; e++) {
                    assertEquals(capacity, load[e], tokens + "x" + experts + " factor " + factor + ", expert " + e);
                }
                Tensor probs = s.probs().value();
                float[] gates = s.assignments().gates().value().toFloatArray();
                for (int i = 0; i < gates.length; i++) {
                    assertEquals(probs.get(s.assignments().token()[i], s.assignments().expert()[i]), gates[i], 0);
                }
            }
        }
    }

    @Test
    void handBuiltGateWeightsGiveClosedFormOutputsForABatch() {
        // 4 tokens x 1.5 / 3 experts: capacity 2. Expert 0 takes tokens 0 and 2 (largest x0), expert 1 tokens 1
        // and 3, expert 2 (logit 0) the tokens whose other logits are smallest: 2 and 3.
        MoeLayer layer = RouterFixtures.scaledReluLayer(handBuiltRouter(1.5));
        float[] y = RouterLayerChecks.run(layer, new float[] {2, 0, 0, 2, 1, 0, 0, 1}, 4, EVAL);
        double e = Math.E, e2 = e * e;
        double strong = e2 / (e2 + 2), weak = e / (e + 2), rest = 1 / (e + 2);
        float[] expected = {
            (float) (strong * 2 * 2), 0,
            0, (float) (strong * 3 * 2),
            (float) (weak * 2 + rest * 5), 0,
            0, (float) (weak * 3 + rest * 5)
        };
        assertArrayEquals(expected, y, 1e-5f);
    }

    @Test
    void notBatchInvariantByDesignAloneATokenIsTakenByEveryExpert() {
        MoeLayer layer = RouterFixtures.scaledReluLayer(handBuiltRouter(1.5));
        // Token (1, 0) in the batch above went to experts 0 and 2; alone, capacity is 1 and every expert takes it.
        RouterOutput.Sparse alone = route(layer.router(), Tensor.of(new float[] {1, 0}, 1, 2), EVAL);
        assertArrayEquals(new int[] {0, 1, 2}, alone.assignments().expert());
        float[] y = RouterLayerChecks.run(layer, new float[] {1, 0}, 1, EVAL);
        double e = Math.E;
        assertEquals((e * 2 + 3 + 5) / (e + 2), y[0], 1e-5);
    }

    @Test
    void groupedDroplessLayerEqualsTheNaiveLoop() {
        Rng rng = new Rng(32);
        ExpertChoiceRouter router = new ExpertChoiceRouter(new ExpertChoiceRouter.Config(12, 5, 2), rng);
        MoeLayer layer = new MoeLayer(MoeConfig.of(12, 20, 5, 2), router, rng);
        Variable x = Variable.parameter(TestData.randn(rng, 9, 12));
        RouterLayerChecks.assertGroupedEqualsNaive(layer, x, () -> EVAL, TestData.randn(rng, 9, 12));
    }

    @Test
    void gradcheckOfTheWholeLayer() {
        Rng rng = new Rng(33);
        try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
            ExpertChoiceRouter router = new ExpertChoiceRouter(new ExpertChoiceRouter.Config(3, 4, 2), rng);
            MoeLayer layer = new MoeLayer(MoeConfig.of(3, 4, 4, 2).withLosses(0, BalanceScope.MICRO_BATCH, 0.1), router, rng);
            Variable x = Variable.parameter(TestData.randn64(rng, 6, 3));
            RouterLayerChecks.assertLayerGradcheck(layer, x, () -> RoutingContext.training("moe", new Rng(0)));
        }
    }

    @Test
    void misuseGetsClearErrorsAndTheFactoryUsesTopKAsTheCapacityFactor() {
        assertThrows(Moe4jException.class, () -> new ExpertChoiceRouter.Config(2, 3, 0));
        assertThrows(Moe4jException.class, () -> new ExpertChoiceRouter.Config(2, 3, Double.NaN));
        assertThrows(Moe4jException.class, () -> new ExpertChoiceRouter.Config(2, 3, Double.POSITIVE_INFINITY));
        assertThrows(Moe4jException.class, () -> new ExpertChoiceRouter.Config(2, 0, 1));
        assertEquals(3.0, new ExpertChoiceRouter.Config(2, 3, 1).withCapacityFactor(3).capacityFactor());
        ExpertChoiceRouter made = (ExpertChoiceRouter) ExpertChoiceRouter.INFO.create(MoeConfig.of(8, 16, 4, 2), new Rng(1));
        assertEquals(2.0, made.config().capacityFactor());
        Moe4jException nan = assertThrows(Moe4jException.class, () -> handBuiltRouter(1).route(
                Variable.constant(Tensor.of(new float[] {Float.NaN, 0}, 1, 2)), RoutingContext.inference("blocks.5.moe")));
        assertTrue(nan.getMessage().contains("blocks.5.moe"), nan.getMessage());
    }
}
