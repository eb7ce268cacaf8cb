package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.autograd.ArithTest.check;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class NormalizationTest {
    @Test
    void layerNormPassesGradcheckWithAndWithoutAffineParameters() {
        Rng rng = new Rng(81);
        for (int[] shape : new int[][] {{3, 7}, {2, 3, 17}, {1}, {4, 1}}) {
            int n = shape[shape.length - 1];
            Tensor x = TestData.randn64(rng, shape);
            Tensor w = TestData.randn64(rng, n);
            Tensor b = TestData.randn64(rng, n);
            String s = java.util.Arrays.toString(shape);
            check("layerNorm " + s, v -> Normalization.layerNorm(v[0], v[1], v[2], 1e-5), x, w, b);
            check("layerNorm no bias " + s, v -> Normalization.layerNorm(v[0], v[1], null, 1e-5), x, w);
            check("layerNorm plain " + s, v -> Normalization.layerNorm(v[0], null, null, 1e-5), x);
        }
    }

    @Test
    void rmsNormPassesGradcheck() {
        Rng rng = new Rng(82);
        for (int[] shape : new int[][] {{3, 7}, {2, 3, 17}, {1}, {33}}) {
            int n = shape[shape.length - 1];
            Tensor x = TestData.randn64(rng, shape);
            Tensor w = TestData.randn64(rng, n);
            check("rmsNorm " + java.util.Arrays.toString(shape), v -> Normalization.rmsNorm(v[0], v[1], 1e-6), x, w);
            check("rmsNorm no weight", v -> Normalization.rmsNorm(v[0], null, 1e-6), x);
        }
    }

    @Test
    void float32GradientsAgreeWithFloat64() {
        Rng rng = new Rng(83);
        Tensor x = TestData.randn(rng, 9, 40);
        Tensor w = TestData.randn(rng, 40);
        Tensor b = TestData.randn(rng, 40);
        Tensor seed = TestData.randn(rng, 9, 40);
        Variable[] f = {Variable.parameter(x), Variable.parameter(w), Variable.parameter(b)};
        Variable[] d = {Variable.parameter(x.to(DType.F64)), Variable.parameter(w.to(DType.F64)),
            Variable.parameter(b.to(DType.F64))};
        Normalization.layerNorm(f[0], f[1], f[2], 1e-5).backward(seed);
        Normalization.layerNorm(d[0], d[1], d[2], 1e-5).backward(seed.to(DType.F64));
        for (int i = 0; i < 3; i++) TestData.assertClose(d[i].grad(), f[i].grad(), 1e-4, 1e-3);
        Variable[] rf = {Variable.parameter(x), Variable.parameter(w)};
        Variable[] rd = {Variable.parameter(x.to(DType.F64)), Variable.parameter(w.to(DType.F64))};
        Normalization.rmsNorm(rf[0], rf[1], 1e-6).backward(seed);
        Normalization.rmsNorm(rd[0], rd[1], 1e-6).backward(seed.to(DType.F64));
        for (int i = 0; i < 2; i++) TestData.assertClose(rd[i].grad(), rf[i].grad(), 1e-4, 1e-3);
    }

    @Test
    void aConstantWeightGetsNoGradientAndWrongShapesAreNamed() {
        Variable x = Variable.parameter(TestData.randn(new Rng(84), 2, 5));
        Variable w = Variable.constant(Tensor.full(1f, 5));
        Reductions.sum(Normalization.rmsNorm(x, w, 1e-6)).backward();
        assertNull(w.grad());
        assertTrue(x.grad() != null);
        ShapeException e = assertThrows(ShapeException.class,
                () -> Normalization.layerNorm(x, Variable.parameter(Tensor.zeros(4)), null, 1e-5));
        assertTrue(e.getMessage().startsWith("layerNorm:"), e.getMessage());
    }
}
