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
import org.moe4j.moe.SmearRouter.Pooling;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class SmearRouterTest {
    /** sum_e w[e] * stacked[e] for every parameter of the bank, copied into a bank of one expert. */
    private static Experts averaged(Experts bank, double[] w, Rng rng) {
        Experts one = new Experts(bank.kind(), 1, bank.dim(), bank.hidden(), bank.upBias() != null, rng);
        Variable[][] pairs = {{bank.up(), one.up()}, {bank.gate(), one.gate()}, {bank.down(), one.down()},
                {bank.upBias(), one.upBias()}, {bank.downBias(), one.downBias()}};
        for (Variable[] pair : pairs) {
            if (pair[0] == null) continue;
            Tensor src = pair[0].value(), dst = pair[1].value();
            int per = dst.numel();
            for (int i = 0; i < per; i++) {
                double v = 0;
                for (int e = 0; e < w.length; e++) v += w[e] * src.storage().get(src.storageIndex(e * per + i));
                dst.storage().set(i, v);
            }
        }
        return one;
    }

    @Test
    void eachSequenceRunsOneExpertWhoseWeightsAreTheAverageBuiltByHand() {
        Rng rng = new Rng(1);
        int dim = 6, tokens = 7;
        int[] starts = {0, 3};
        for (ExpertKind kind : ExpertKind.values()) {
            for (Pooling pooling : Pooling.values()) {
                MoeConfig config = MoeConfig.of(dim, 5, 3, 1).withExpertKind(kind, kind != ExpertKind.SWIGLU);
                SmearRouter router = new SmearRouter(SmearRouter.Config.of(dim, 3).withPooling(pooling), rng);
                MoeLayer layer = new MoeLayer(config, router, rng);
                float[] x = TestData.randn(rng, tokens, dim).toFloatArray();
                float[] y;
                try (GradMode scope = GradMode.off()) {
                    y = layer.forward(Variable.constant(Tensor.of(x, tokens, dim)),
                            RoutingContext.inference("moe").withSequenceStarts(starts)).output().value().toFloatArray();
                }
                for (int g = 0; g < 2; g++) {
                    int from = starts[g], to = g == 0 ? starts[1] : tokens;
                    double[] w = new double[3];
                    if (pooling == Pooling.PROBABILITIES) {
                        double[][] logits = RouterFixtures.logits(Tensor.of(x, tokens, dim), router.weight().value());
                        for (int t = from; t < to; t++) {
                            double[] p = RouterFixtures.softmax(logits[t]);
                            for (int e = 0; e < 3; e++) w[e] += p[e] / (to - from);
                        }
                    } else {
                        float[] mean = new float[dim];
                        for (int t = from; t < to; t++) for (int j = 0; j < dim; j++) mean[j] += x[t * dim + j] / (to - from);
                        double[][] logits = RouterFixtures.logits(Tensor.of(mean, 1, dim), router.weight().value());
                        w = RouterFixtures.softmax(logits[0]);
                    }
                    Experts one = averaged(layer.experts(), w, rng);
                    Tensor rows = Tensor.of(java.util.Arrays.copyOfRange(x, from * dim, to * dim), to - from, dim);
                    float[] expected;
                    try (GradMode scope = GradMode.off()) {
                        expected = one.forward(Variable.constant(rows), new int[] {0, to - from}).value().toFloatArray();
                    }
                    assertArrayEquals(expected, java.util.Arrays.copyOfRange(y, from * dim, to * dim), 1e-5f,
                            kind + " " + pooling + " group " + g);
                }
            }
        }
    }

    /**
     * Three ReLU experts scaling by (2, 3, 5): a merged expert scales by sum_e w_e s_e (its down matrix is the
     * identity since the weights sum to 1), so y_t = (w . s) relu(x_t). Router rows (1, 0), (0, 1), (0, 0).
     */
    @Test
    void handBuiltMergesGiveTheWeightedScaleForEveryTokenOfTheGroup() {
        Rng rng = new Rng(2);
        SmearRouter router = new SmearRouter(SmearRouter.Config.of(2, 3), rng);
        RouterFixtures.setWeight(router.weight(), 1, 0, 0, 1, 0, 0);
        MoeLayer layer = RouterFixtures.scaledReluLayer(router);
        float[] x = {1, 0, 0, 2, -1, 1};
        double e = Math.E, e2 = e * e;
        double[] p0 = {e / (e + 2), 1 / (e + 2), 1 / (e + 2)};
        double[] p1 = {1 / (e2 + 2), e2 / (e2 + 2), 1 / (e2 + 2)};
        double[] p2 = {1 / (1 + e2 + e), e2 / (1 + e2 + e), e / (1 + e2 + e)}; // logits (-1, 1, 0), times e
        double[] s = {2, 3, 5};
        double gain01 = 0, gain2 = 0, gain0 = 0;
        for (int i = 0; i < 3; i++) {
            gain01 += (p0[i] + p1[i]) / 2 * s[i];
            gain2 += p2[i] * s[i];
            gain0 += p0[i] * s[i];
        }
        try (GradMode scope = GradMode.off()) {
            MoeOutput out = layer.forward(Variable.constant(Tensor.of(x, 3, 2)),
                    RoutingContext.inference("moe").withSequenceStarts(new int[] {0, 2}));
            assertArrayEquals(new float[] {(float) gain01, 0, 0, (float) (2 * gain01), 0, (float) gain2},
                    out.output().value().toFloatArray(), 1e-5f);
            assertEquals(2, out.stats().entropyCount(), "one routing decision per sequence");
            assertArrayEquals(new long[] {3, 3, 3}, out.stats().routed(), "every expert serves every token");
            assertNull(out.auxLoss());
            // Without sequence starts every token is its own group.
            float[] own = layer.forward(Variable.constant(Tensor.of(x, 3, 2)), RoutingContext.inference("moe"))
                    .output().value().toFloatArray();
            assertEquals((float) gain0, own[0], 1e-5f);
            assertEquals((float) gain2, own[5], 1e-5f);
        }
    }

    @Test
    void mergingIsDifferentiableInTheRouterAndTheExperts() {
        for (Pooling pooling : Pooling.values()) {
            for (ExpertKind kind : new ExpertKind[] {ExpertKind.SWIGLU, ExpertKind.GELU}) {
                Rng rng = new Rng(3);
                try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
                    MoeConfig config = MoeConfig.of(3, 4, 3, 1).withExpertKind(kind, kind == ExpertKind.GELU)
                            .withShared(1, 2, true);
                    SmearRouter router = new SmearRouter(SmearRouter.Config.of(3, 3).withPooling(pooling), rng);
                    MoeLayer layer = new MoeLayer(config, router, rng);
                    Variable x = Variable.parameter(TestData.randn64(rng, 5, 3));
                    RoutingContext ctx = RoutingContext.training("moe", new Rng(0)).withSequenceStarts(new int[] {0, 2, 3});
                    RouterLayerChecks.assertLayerGradcheck(layer, x, () -> ctx);
                }
            }
        }
        // and per token (no sequence starts)
        Rng rng = new Rng(4);
        try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
            MoeLayer layer = new MoeLayer(MoeConfig.of(3, 4, 3, 1), new SmearRouter(SmearRouter.Config.of(3, 3), rng), rng);
            Variable x = Variable.parameter(TestData.randn64(rng, 4, 3));
            RouterLayerChecks.assertLayerGradcheck(layer, x, () -> RoutingContext.training("moe", new Rng(0)));
        }
    }

    @Test
    void badSequenceStartsNameTheLayer() {
        SmearRouter router = new SmearRouter(SmearRouter.Config.of(2, 3), new Rng(1));
        Variable x = Variable.constant(Tensor.zeros(4, 2));
        for (int[] starts : new int[][] {{1, 2}, {0, 2, 2}, {0, 3, 1}, {0, 4}, {}}) {
            Moe4jException e = assertThrows(Moe4jException.class,
                    () -> router.route(x, RoutingContext.inference("blocks.1.moe").withSequenceStarts(starts)));
            assertTrue(e.getMessage().contains("smear router of layer blocks.1.moe"), e.getMessage());
        }
        assertThrows(Moe4jException.class, () -> SmearRouter.Config.of(0, 3));
        assertThrows(Moe4jException.class, () -> SmearRouter.Config.of(2, 3).withPooling(null));
    }
}
