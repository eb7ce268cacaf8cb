package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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

class MixtureOfTokensRouterTest {
    private static final RoutingContext EVAL = RoutingContext.inference("moe");

    private static MoeLayer layer(int dim, int experts, int groupSize, Rng rng) {
        return new MoeLayer(MoeConfig.of(dim, 5, experts, 1),
                new MixtureOfTokensRouter(new MixtureOfTokensRouter.Config(dim, experts, groupSize), rng), rng);
    }

    private static float[] run(MoeLayer layer, float[] x, int tokens) {
        return RouterLayerChecks.run(layer, x, tokens, EVAL);
    }

    /** sum_e FFN_e(x) of one row, by the naive per-expert path. */
    private static float[] sumOfExperts(Experts experts, float[] row) {
        try (GradMode scope = GradMode.off()) {
            Variable v = Variable.constant(Tensor.of(row, 1, row.length));
            float[] sum = new float[row.length];
            for (int e = 0; e < experts.count(); e++) {
                float[] y = NaiveMoe.expert(experts, e, v).value().toFloatArray();
                for (int j = 0; j < sum.length; j++) sum[j] += y[j];
            }
            return sum;
        }
    }

    /**
     * A group of G identical tokens has equal logits, so every mixing weight is 1/G; expert e's input is then
     * x itself and each token gets back sum_e FFN_e(x) / G, whatever the router's weights.
     */
    @Test
    void aGroupOfIdenticalTokensGivesEachTheSameShareOfEveryExpert() {
        Rng rng = new Rng(1);
        MoeLayer layer = layer(6, 3, 4, rng);
        float[] a = TestData.randn(rng, 6).toFloatArray(), b = TestData.randn(rng, 6).toFloatArray();
        float[] x = new float[8 * 6];
        for (int t = 0; t < 8; t++) System.arraycopy(t < 4 ? a : b, 0, x, t * 6, 6);
        float[] y = run(layer, x, 8);
        float[] ya = sumOfExperts(layer.experts(), a), yb = sumOfExperts(layer.experts(), b);
        for (int t = 0; t < 8; t++) {
            float[] expected = t < 4 ? ya : yb;
            for (int j = 0; j < 6; j++) assertEquals(expected[j] / 4, y[t * 6 + j], 1e-5f, "token " + t);
        }
    }

    /**
     * With one token per group each softmax is over a single token, so every mixing weight is exactly 1: the
     * layer is the dense MoE y = sum_e FFN_e(x) with all gates 1, and the router gets no gradient.
     */
    @Test
    void oneTokenPerGroupIsTheDenseSumOfAllExpertsForwardAndBackward() {
        Rng rng = new Rng(2);
        MoeLayer layer = layer(6, 3, 1, rng);
        Variable x = Variable.parameter(TestData.randn(rng, 5, 6));
        // The dense assignments carry constant gates, so the router's gradient must be zero in the mixed layer too.
        RouterLayerChecks.assertLayerEqualsNaive(layer, x, EVAL, TestData.randn(rng, 5, 6),
                () -> NaiveMoe.dense(Variable.constant(Tensor.full(1f, 5, 3))));
    }

    /**
     * Two ReLU experts scaling by 2 and 3, router rows (1, 0) and (0, 1), groups of 2. For group (u, v): w_e =
     * softmax(u_e, v_e) over the two tokens, expert e sees m_e = w_ue u + w_ve v and returns s_e relu(m_e), and
     * token u gets sum_e w_ue s_e relu(m_e).
     */
    @Test
    void handBuiltGroupsMatchTheClosedForm() {
        Rng rng = new Rng(3);
        MixtureOfTokensRouter router = new MixtureOfTokensRouter(new MixtureOfTokensRouter.Config(2, 2, 2), rng);
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 1);
        MoeLayer layer = RouterFixtures.scaledReluLayer(router, 2, 2, 3);
        float[] x = {1, 0, 0, 2, -1, 1, 2, -2};
        float[] y = run(layer, x, 4);
        double[] s = {2, 3};
        for (int g = 0; g < 2; g++) {
            double[] u = {x[4 * g], x[4 * g + 1]}, v = {x[4 * g + 2], x[4 * g + 3]};
            double[] yu = new double[2], yv = new double[2];
            for (int e = 0; e < 2; e++) {
                double wu = Math.exp(u[e]) / (Math.exp(u[e]) + Math.exp(v[e])), wv = 1 - wu;
                for (int j = 0; j < 2; j++) {
                    double out = s[e] * Math.max(0, wu * u[j] + wv * v[j]);
                    yu[j] += wu * out;
                    yv[j] += wv * out;
                }
            }
            assertArrayEquals(new float[] {(float) yu[0], (float) yu[1], (float) yv[0], (float) yv[1]},
                    java.util.Arrays.copyOfRange(y, 4 * g, 4 * g + 4), 1e-5f, "group " + g);
        }
        // Group 0 by number: u = (1, 0), v = (0, 2); expert 0 mixes with (e, 1) / (e + 1), expert 1 with
        // (1, e^2) / (1 + e^2), so m_0 = (e, 2) / (e + 1) and m_1 = (1, 2 e^2) / (1 + e^2).
        double e = Math.E, e2 = e * e;
        double u0 = e / (e + 1), u1 = 1 / (1 + e2);
        assertEquals((float) (u0 * 2 * e / (e + 1) + u1 * 3 / (1 + e2)), y[0], 1e-5f);
        assertEquals((float) (u0 * 2 * 2 / (e + 1) + u1 * 3 * 2 * e2 / (1 + e2)), y[1], 1e-5f);
    }

    @Test
    void tokensOfAGroupSeeEachOtherAndOtherGroupsDoNot() {
        Rng rng = new Rng(4);
        MoeLayer layer = layer(4, 3, 3, rng);
        float[] x = TestData.randn(rng, 6, 4).toFloatArray();
        float[] before = run(layer, x, 6);
        x[2 * 4] += 1; // the last token of the first group
        float[] after = run(layer, x, 6);
        assertNotEquals(before[0], after[0], "not causal: token 0 sees token 2");
        assertArrayEquals(java.util.Arrays.copyOfRange(before, 12, 24), java.util.Arrays.copyOfRange(after, 12, 24),
                "the second group is untouched");
        try (GradMode scope = GradMode.off()) {
            MoeOutput out = layer.forward(Variable.constant(Tensor.of(x, 6, 4)), EVAL);
            assertArrayEquals(new long[] {2, 2, 2}, out.stats().routed(), "each expert runs one mixed row per group");
        }
    }

    @Test
    void gradcheckOfTheWholeLayer() {
        for (ExpertKind kind : new ExpertKind[] {ExpertKind.SWIGLU, ExpertKind.GELU}) {
            Rng rng = new Rng(5);
            try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
                MoeConfig config = MoeConfig.of(3, 4, 3, 1).withExpertKind(kind, kind == ExpertKind.GELU);
                MoeLayer layer = new MoeLayer(config,
                        new MixtureOfTokensRouter(new MixtureOfTokensRouter.Config(3, 3, 3), rng), rng);
                Variable x = Variable.parameter(TestData.randn64(rng, 6, 3));
                RouterLayerChecks.assertLayerGradcheck(layer, x, () -> RoutingContext.training("moe", new Rng(0)));
            }
        }
    }

    @Test
    void tokensMustFillWholeGroups() {
        MoeLayer layer = layer(2, 2, 4, new Rng(6));
        Moe4jException e = assertThrows(Moe4jException.class, () -> run(layer, new float[12], 6));
        assertTrue(e.getMessage().contains("router of layer moe"), e.getMessage());
        assertTrue(e.getMessage().contains("groups of 4"), e.getMessage());
        assertThrows(Moe4jException.class, () -> new MixtureOfTokensRouter.Config(2, 2, 0));
        assertThrows(Moe4jException.class, () -> MixtureOfTokensRouter.Config.of(2, 0));
    }
}
