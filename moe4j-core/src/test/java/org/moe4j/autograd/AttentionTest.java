package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.testing.TestData.assertClose;
import static org.moe4j.testing.TestData.randn;
import static org.moe4j.testing.TestData.randn64;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;

class AttentionTest {
    private final Rng rng = new Rng(9);

    private static void assertPasses(GradCheck.Result r) {
        assertTrue(r.passed(), r.toString());
    }

    @Test
    void gradcheckWithoutMaskTNotS() {
        assertPasses(GradCheck.check(v -> Attention.scaledDotProductAttention(v[0], v[1], v[2], null, false),
                randn64(rng, 2, 1, 3, 4), randn64(rng, 2, 1, 5, 4), randn64(rng, 2, 1, 5, 3)));
    }

    @Test
    void gradcheckCausalWithBroadcastMask() {
        // T < S: a query block at the end of the keys; the mask [T, S] broadcasts over batch and heads.
        assertPasses(GradCheck.check(v -> Attention.scaledDotProductAttention(v[0], v[1], v[2], v[3], true, 0.8),
                randn64(rng, 1, 2, 3, 3), randn64(rng, 1, 2, 5, 3), randn64(rng, 1, 2, 5, 2), randn64(rng, 3, 5)));
        // A per-batch key mask [B, 1, 1, S].
        assertPasses(GradCheck.check(v -> Attention.scaledDotProductAttention(v[0], v[1], v[2], v[3], false),
                randn64(rng, 2, 1, 3, 2), randn64(rng, 2, 1, 4, 2), randn64(rng, 2, 1, 4, 3), randn64(rng, 2, 1, 1, 4)));
    }

    @Test
    void gradcheckCausalWithRowsThatSeeNoKey() {
        // T = 4 > S = 2: rows 0 and 1 see nothing, output zeros, and must pass zero gradient, not NaN.
        assertPasses(GradCheck.check(v -> Attention.scaledDotProductAttention(v[0], v[1], v[2], null, true),
                randn64(rng, 1, 2, 4, 3), randn64(rng, 1, 2, 2, 3), randn64(rng, 1, 2, 2, 2)));
    }

    @Test
    void floatGradientsMatchDoubleGradients() {
        Tensor[] xs = {randn(rng, 2, 3, 6, 5), randn(rng, 2, 3, 9, 5), randn(rng, 2, 3, 9, 4), randn(rng, 1, 3, 6, 9)};
        Variable[] f32 = new Variable[4];
        Variable[] f64 = new Variable[4];
        for (int i = 0; i < 4; i++) {
            f32[i] = Variable.parameter(xs[i]);
            f64[i] = Variable.parameter(xs[i].to(DType.F64));
        }
        Variable y32 = Attention.scaledDotProductAttention(f32[0], f32[1], f32[2], f32[3], true);
        Variable y64 = Attention.scaledDotProductAttention(f64[0], f64[1], f64[2], f64[3], true);
        Tensor seed = randn(rng, y32.shape());
        y32.backward(seed);
        y64.backward(seed.to(DType.F64));
        assertClose(y64.value(), y32.value(), 1e-5, 1e-4);
        for (int i = 0; i < 4; i++) assertClose(f64[i].grad(), f32[i].grad(), 1e-4, 1e-3);
    }

    @Test
    void defaultScaleIsOneOverSqrtHeadDim() {
        Variable q = Variable.constant(randn(rng, 1, 2, 3, 16));
        Variable k = Variable.constant(randn(rng, 1, 2, 4, 16));
        Variable v = Variable.constant(randn(rng, 1, 2, 4, 5));
        assertClose(Attention.scaledDotProductAttention(q, k, v, null, false, 0.25).value(),
                Attention.scaledDotProductAttention(q, k, v, null, false).value(), 0, 0);
    }

    @Test
    void constantMaskGetsNoGradient() {
        Variable q = Variable.parameter(randn(rng, 1, 1, 2, 3));
        Variable k = Variable.parameter(randn(rng, 1, 1, 4, 3));
        Variable v = Variable.parameter(randn(rng, 1, 1, 4, 2));
        Variable mask = Variable.constant(randn(rng, 2, 4));
        Variable y = Attention.scaledDotProductAttention(q, k, v, mask, false);
        assertEquals("scaledDotProductAttention", y.op());
        assertArrayEquals(new int[] {1, 1, 2, 2}, y.shape());
        y.backward(Tensor.full(1f, y.shape()));
        assertNull(mask.grad());
        assertArrayEquals(q.shape(), q.grad().shape());
        assertArrayEquals(k.shape(), k.grad().shape());
        assertArrayEquals(v.shape(), v.grad().shape());
    }

    @Test
    void misuseNamesTheOp() {
        Variable q = Variable.parameter(Tensor.zeros(1, 2, 3, 4));
        Variable k = Variable.parameter(Tensor.zeros(1, 2, 5, 6));
        Variable v = Variable.parameter(Tensor.zeros(1, 2, 5, 6));
        var e = assertThrows(ShapeException.class, () -> Attention.scaledDotProductAttention(q, k, v, null, false));
        assertTrue(e.getMessage().startsWith("scaledDotProductAttention:") && e.getMessage().contains("head dims")
                && e.getMessage().contains("[1, 2, 3, 4]") && e.getMessage().contains("[1, 2, 5, 6]"), e.getMessage());
    }
}
