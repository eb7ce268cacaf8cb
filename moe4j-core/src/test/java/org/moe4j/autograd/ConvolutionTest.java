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

class ConvolutionTest {
    private final Rng rng = new Rng(5);

    private static void assertPasses(GradCheck.Result r) {
        assertTrue(r.passed(), r.toString());
    }

    @Test
    void conv2dGradcheckStrideTwoPaddingOneWithBias() {
        assertPasses(GradCheck.check(v -> Convolution.conv2d(v[0], v[1], v[2], 2, 1),
                randn64(rng, 2, 3, 5, 4), randn64(rng, 2, 3, 3, 3), randn64(rng, 2)));
    }

    @Test
    void conv2dGradcheckSeparateStridesAndPaddingWithoutBias() {
        assertPasses(GradCheck.check(v -> Convolution.conv2d(v[0], v[1], null, 2, 1, 0, 1),
                randn64(rng, 1, 2, 5, 3), randn64(rng, 3, 2, 2, 3)));
        // 1x1 kernel: the path that skips im2col in float.
        assertPasses(GradCheck.check(v -> Convolution.conv2d(v[0], v[1], v[2], 1, 0),
                randn64(rng, 2, 3, 2, 3), randn64(rng, 2, 3, 1, 1), randn64(rng, 2)));
    }

    @Test
    void maxPool2dGradcheck() {
        assertPasses(GradCheck.check(v -> Convolution.maxPool2d(v[0], 3, 2, 1), randn64(rng, 2, 2, 5, 5)));
        assertPasses(GradCheck.check(v -> Convolution.maxPool2d(v[0], 2, 3, 1, 2, 0, 1), randn64(rng, 1, 3, 4, 5)));
    }

    @Test
    void avgPool2dGradcheck() {
        assertPasses(GradCheck.check(v -> Convolution.avgPool2d(v[0], 3, 2, 1), randn64(rng, 2, 2, 5, 5)));
        assertPasses(GradCheck.check(v -> Convolution.avgPool2d(v[0], 3, 2, 2, 1, 1, 1), randn64(rng, 1, 3, 5, 4)));
    }

    @Test
    void floatGradientsMatchDoubleGradients() {
        Tensor x = randn(rng, 3, 2, 7, 6);
        Tensor w = randn(rng, 4, 2, 3, 3);
        Tensor b = randn(rng, 4);
        Variable[] f32 = {Variable.parameter(x), Variable.parameter(w), Variable.parameter(b)};
        Variable[] f64 = {Variable.parameter(x.to(DType.F64)), Variable.parameter(w.to(DType.F64)),
            Variable.parameter(b.to(DType.F64))};
        Variable y32 = Convolution.maxPool2d(Convolution.conv2d(f32[0], f32[1], f32[2], 2, 1), 2, 1, 1);
        Variable y64 = Convolution.maxPool2d(Convolution.conv2d(f64[0], f64[1], f64[2], 2, 1), 2, 1, 1);
        Tensor seed = randn(rng, y32.shape());
        y32.backward(seed);
        y64.backward(seed.to(DType.F64));
        assertClose(y64.value(), y32.value(), 1e-4, 1e-4);
        for (int i = 0; i < 3; i++) assertClose(f64[i].grad(), f32[i].grad(), 1e-3, 1e-3);

        Variable xa = Variable.parameter(x);
        Variable ya = Convolution.avgPool2d(xa, 3, 2, 1);
        ya.backward(Tensor.full(1f, ya.shape()));
        Variable xd = Variable.parameter(x.to(DType.F64));
        Variable yd = Convolution.avgPool2d(xd, 3, 2, 1);
        yd.backward(Tensor.full(DType.F64, 1, yd.shape()));
        assertClose(xd.grad(), xa.grad(), 1e-5, 1e-5);
    }

    @Test
    void constantInputGetsNoGradient() {
        Variable x = Variable.constant(randn(rng, 1, 2, 4, 4));
        Variable w = Variable.parameter(randn(rng, 3, 2, 3, 3));
        Variable y = Convolution.conv2d(x, w, null, 1, 1);
        assertEquals("conv2d", y.op());
        assertArrayEquals(new int[] {1, 3, 4, 4}, y.shape());
        y.backward(Tensor.full(1f, y.shape()));
        assertNull(x.grad());
        assertArrayEquals(w.shape(), w.grad().shape());
    }

    @Test
    void misuseNamesTheOp() {
        Variable x = Variable.parameter(Tensor.zeros(1, 3, 4, 4));
        var e = assertThrows(ShapeException.class,
                () -> Convolution.conv2d(x, Variable.parameter(Tensor.zeros(2, 2, 3, 3)), null, 1, 0));
        assertTrue(e.getMessage().startsWith("conv2d:") && e.getMessage().contains("[1, 3, 4, 4]"), e.getMessage());
        var p = assertThrows(ShapeException.class, () -> Convolution.avgPool2d(x, 5, 1, 0));
        assertTrue(p.getMessage().startsWith("avgPool2d:"), p.getMessage());
    }
}
