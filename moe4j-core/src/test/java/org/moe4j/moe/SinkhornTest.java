package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.kernel.TopK;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class SinkhornTest {
    private static double[] rowSums(Tensor p) {
        double[] s = new double[p.dim(0)];
        for (int t = 0; t < p.dim(0); t++) {
            for (int e = 0; e < p.dim(1); e++) s[t] += p.getDouble(t, e);
        }
        return s;
    }

    private static double[] columnSums(Tensor p) {
        double[] s = new double[p.dim(1)];
        for (int t = 0; t < p.dim(0); t++) {
            for (int e = 0; e < p.dim(1); e++) s[e] += p.getDouble(t, e);
        }
        return s;
    }

    private static int maxLoad(IntTensor firstChoice, int experts) {
        int[] load = new int[experts];
        for (int e : firstChoice.data()) load[e]++;
        int max = 0;
        for (int l : load) max = Math.max(max, l);
        return max;
    }

    @Test
    void rowsSumToOneAndColumnsToTheirEqualShare() {
        Rng rng = new Rng(11);
        int[][] shapes = {{64, 8}, {37, 5}, {200, 16}, {3, 7}};
        for (int[] shape : shapes) {
            Tensor logits = TestData.randn(rng, shape);
            Sinkhorn.Result r = Sinkhorn.balance(logits, 500, 1e-6);
            assertTrue(r.columnError() <= 1e-6, "column error " + r.columnError());
            assertTrue(r.iterations() < 500);
            double[] ones = new double[shape[0]];
            Arrays.fill(ones, 1);
            TestData.assertClose(ones, rowSums(r.balanced()), 1e-12, 0);
            double[] share = new double[shape[1]];
            Arrays.fill(share, (double) shape[0] / shape[1]);
            TestData.assertClose(share, columnSums(r.balanced()), 0, 1.01e-6);
        }
    }

    @Test
    void theResultIsADiagonalScalingOfExpLogits() {
        // log P - logits must be a row term plus a column term: every 2x2 "cross difference" vanishes.
        Rng rng = new Rng(12);
        Tensor logits = TestData.randn(rng, 20, 6);
        Tensor p = Sinkhorn.balance(logits).balanced();
        for (int t = 1; t < 20; t++) {
            for (int e = 1; e < 6; e++) {
                double cross = Math.log(p.getDouble(t, e)) - logits.getDouble(t, e)
                        - Math.log(p.getDouble(t, 0)) + logits.getDouble(t, 0)
                        - Math.log(p.getDouble(0, e)) + logits.getDouble(0, e)
                        + Math.log(p.getDouble(0, 0)) - logits.getDouble(0, 0);
                assertEquals(0, cross, 1e-5);
            }
        }
    }

    @Test
    void agreesWithTheMegatronFormulationUpToTheFactorTokens() {
        // Megatron-Core alternates d0 = 1/(tokens * (cost d1)) and d1 = 1/(experts * (d0 cost)) on cost = exp(logits)
        // and returns d1 * cost * d0; the fixed point is our matrix divided by tokens.
        Rng rng = new Rng(13);
        int tokens = 24;
        int experts = 4;
        Tensor logits = TestData.randn(rng, tokens, experts);
        double[] cost = logits.toDoubleArray();
        for (int i = 0; i < cost.length; i++) cost[i] = Math.exp(cost[i]);
        double[] d0 = new double[tokens];
        double[] d1 = new double[experts];
        Arrays.fill(d1, 1);
        for (int it = 0; it < 2000; it++) {
            for (int t = 0; t < tokens; t++) {
                double s = 0;
                for (int e = 0; e < experts; e++) s += d1[e] * cost[t * experts + e];
                d0[t] = 1.0 / tokens / s;
            }
            for (int e = 0; e < experts; e++) {
                double s = 0;
                for (int t = 0; t < tokens; t++) s += d0[t] * cost[t * experts + e];
                d1[e] = 1.0 / experts / s;
            }
        }
        double[] expected = new double[tokens * experts];
        for (int t = 0; t < tokens; t++) {
            for (int e = 0; e < experts; e++) expected[t * experts + e] = tokens * d1[e] * cost[t * experts + e] * d0[t];
        }
        Sinkhorn.Result r = Sinkhorn.balance(logits, 2000, 1e-13);
        TestData.assertClose(expected, r.balanced().toDoubleArray(), 1e-10, 1e-9);
    }

    @Test
    void aSkewedRouterSpreadsItsTokensAfterBalancing() {
        Rng rng = new Rng(14);
        int tokens = 512;
        int experts = 8;
        Tensor logits = TestData.randn(rng, tokens, experts);
        for (int t = 0; t < tokens; t++) logits.set(logits.getDouble(t, 0) + 2.5, t, 0); // expert 0 is popular
        int raw = maxLoad(TopK.topK(logits, 1, 1).indices(), experts);
        int balanced = maxLoad(Sinkhorn.topK(logits, 1), experts);
        assertTrue(raw > tokens / 2, "the raw router should be skewed, max load " + raw);
        assertTrue(balanced < tokens / experts * 1.5, "balanced max load " + balanced + " vs raw " + raw);
    }

    @Test
    void hugeLogitsAndPerRowShiftsChangeNothing() {
        Rng rng = new Rng(15);
        Tensor logits = TestData.randn(rng, 30, 5).to(DType.F64);
        Tensor shifted = logits.copy();
        for (int t = 0; t < 30; t++) {
            for (int e = 0; e < 5; e++) shifted.set(logits.getDouble(t, e) + 800 + 50 * t, t, e);
        }
        TestData.assertClose(Sinkhorn.balance(logits).balanced(), Sinkhorn.balance(shifted).balanced(), 1e-9, 1e-9);
        assertEquals(Sinkhorn.topK(logits, 2), Sinkhorn.topK(shifted, 2));
    }

    @Test
    void equalLogitsSelectTheLowerExpertsAndTopKIsBestFirst() {
        assertArrayEquals(new int[] {0, 1, 0, 1, 0, 1}, Sinkhorn.topK(Tensor.zeros(3, 4), 2).data());
        Tensor logits = Tensor.of(new float[] {0, 3, 1, 2, 0, 1}, 2, 3);
        IntTensor top = Sinkhorn.topK(logits, 3);
        assertArrayEquals(new int[] {2, 3}, top.shape());
        Tensor p = Sinkhorn.balance(logits).balanced();
        for (int t = 0; t < 2; t++) {
            assertTrue(p.getDouble(t, top.data()[t * 3]) >= p.getDouble(t, top.data()[t * 3 + 1]));
            assertTrue(p.getDouble(t, top.data()[t * 3 + 1]) >= p.getDouble(t, top.data()[t * 3 + 2]));
        }
    }

    @Test
    void anExpertNoTokenCanReachGetsNothingAndNoNaN() {
        Tensor logits = Tensor.zeros(6, 3);
        for (int t = 0; t < 6; t++) logits.set(-1000, t, 2);
        Sinkhorn.Result r = Sinkhorn.balance(logits, 20, 1e-6);
        assertEquals(20, r.iterations());
        assertEquals(1, r.columnError(), 1e-12);
        for (double v : r.balanced().toDoubleArray()) assertTrue(Double.isFinite(v));
        assertEquals(0, columnSums(r.balanced())[2]);
    }

    @Test
    void misuseIsReportedClearly() {
        Moe4jException e = assertThrows(Moe4jException.class, () -> Sinkhorn.topK(Tensor.zeros(4, 3), 4));
        assertTrue(e.getMessage().contains("k=4 must be between 1 and the 3 experts"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> Sinkhorn.balance(Tensor.zeros(12)));
        assertTrue(e.getMessage().contains("sinkhorn: expects scores [tokens, experts]"), e.getMessage());
        Tensor nan = Tensor.zeros(2, 2);
        nan.set(Double.POSITIVE_INFINITY, 1, 0);
        e = assertThrows(Moe4jException.class, () -> Sinkhorn.balance(nan));
        assertTrue(e.getMessage().contains("at token 1, expert 0 is not finite"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> Sinkhorn.balance(Tensor.zeros(2, 2), 0, 1e-3));
        assertTrue(e.getMessage().contains("maxIterations must be positive"), e.getMessage());
        assertEquals(0, Sinkhorn.topK(Tensor.zeros(0, 3), 2).numel());
    }
}
