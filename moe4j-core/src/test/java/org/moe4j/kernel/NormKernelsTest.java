package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class NormKernelsTest {
    @Test
    void layerNormFastPathMatchesReference() {
        Rng rng = new Rng(31);
        for (int trial = 0; trial < 40; trial++) {
            int[] shape = StridedInputs.randomShape(rng, 1 + rng.nextInt(3));
            int n = shape[shape.length - 1];
            Tensor x = Elementwise.map(Elementwise.Fn.AFFINE, StridedInputs.anyLayout(rng, shape), 3, 1);
            Tensor w = trial % 4 == 0 ? null : TestData.randn(rng, n);
            Tensor b = trial % 3 == 0 ? null : StridedInputs.strided(rng, n);
            Tensor g = StridedInputs.anyLayout(rng, shape);
            var fast = NormKernels.layerNorm(x, w, b, 1e-5);
            var ref = NormKernels.layerNormReference(x, w, b, 1e-5);
            TestData.assertClose(ref.output(), fast.output(), 1e-5, 1e-4);
            TestData.assertClose(ref.mean(), fast.mean(), 1e-5, 1e-5);
            TestData.assertClose(ref.rstd(), fast.rstd(), 1e-5, 1e-4);
            var gf = NormKernels.layerNormBackward(x, w, fast, g, true, true, true);
            var gr = NormKernels.layerNormBackwardReference(x, w, ref, g, true, true, true);
            int rows = x.numel() / Math.max(1, n);
            TestData.assertClose(gr.input(), gf.input(), 1e-4, 1e-3);
            if (w != null) TestData.assertClose(gr.weight(), gf.weight(), 1e-4 * Math.sqrt(rows), 1e-3);
            else assertNull(gf.weight());
            TestData.assertClose(gr.bias(), gf.bias(), 1e-4 * Math.sqrt(rows), 1e-4);
        }
    }

    @Test
    void rmsNormFastPathMatchesReference() {
        Rng rng = new Rng(32);
        for (int trial = 0; trial < 40; trial++) {
            int[] shape = StridedInputs.randomShape(rng, 1 + rng.nextInt(3));
            int n = shape[shape.length - 1];
            Tensor x = StridedInputs.anyLayout(rng, shape);
            Tensor w = trial % 4 == 0 ? null : TestData.randn(rng, n);
            Tensor g = StridedInputs.anyLayout(rng, shape);
            var fast = NormKernels.rmsNorm(x, w, 1e-6);
            var ref = NormKernels.rmsNormReference(x, w, 1e-6);
            TestData.assertClose(ref.output(), fast.output(), 1e-5, 1e-4);
            TestData.assertClose(ref.rstd(), fast.rstd(), 1e-5, 1e-4);
            var gf = NormKernels.rmsNormBackward(x, w, fast, g, true, true);
            var gr = NormKernels.rmsNormBackwardReference(x, w, ref, g, true, true);
            TestData.assertClose(gr.input(), gf.input(), 1e-4, 1e-3);
            if (w != null) TestData.assertClose(gr.weight(), gf.weight(), 1e-4 * Math.sqrt(x.numel() / n), 1e-3);
        }
    }

    @Test
    void closedFormValues() {
        // rows [1, 2, 3, 4] and [2, 2, 2, 2]
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 2, 2, 2, 2}, 2, 4);
        var rms = NormKernels.rmsNorm(x, Tensor.of(new float[] {1, 1, 1, 2}, 4), 0);
        double r = 1 / Math.sqrt(30.0 / 4);
        TestData.assertClose(new double[] {r, 2 * r, 3 * r, 8 * r, 1, 1, 1, 2}, rms.output().toDoubleArray(), 1e-6, 1e-6);
        var ln = NormKernels.layerNorm(x, null, Tensor.of(new float[] {0, 0, 0, 10}, 4), 0);
        double s = 1 / Math.sqrt(1.25); // population variance of 1..4 is 1.25
        TestData.assertClose(new double[] {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s + 10}, ln.output().narrow(0, 0, 1)
                .toDoubleArray(), 1e-6, 1e-6);
        // a constant row has zero variance: eps keeps it finite, and the output is the bias
        var flat = NormKernels.layerNorm(x, null, null, 1e-5);
        assertArrayEquals(new float[4], flat.output().narrow(0, 1, 1).toFloatArray());
        assertEquals(2.5, flat.mean().get(0), 1e-7);
    }

    @Test
    void wrongWeightShapeNamesTheOp() {
        ShapeException e = assertThrows(ShapeException.class, () -> NormKernels.rmsNorm(Tensor.zeros(2, 4), Tensor.zeros(5), 1e-6));
        assertTrue(e.getMessage().startsWith("rmsNorm:") && e.getMessage().contains("[5]") && e.getMessage().contains("[2, 4]"),
                e.getMessage());
        ShapeException b = assertThrows(ShapeException.class,
                () -> NormKernels.layerNorm(Tensor.zeros(2, 4), null, Tensor.zeros(4, 1), 1e-5));
        assertTrue(b.getMessage().startsWith("layerNorm:") && b.getMessage().contains("bias"), b.getMessage());
        assertThrows(ShapeException.class, () -> NormKernels.layerNorm(Tensor.scalar(1f), null, null, 1e-5));
    }
}
