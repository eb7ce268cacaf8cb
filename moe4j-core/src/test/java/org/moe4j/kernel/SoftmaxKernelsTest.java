package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class SoftmaxKernelsTest {
    @Test
    void fastPathsMatchReferenceOnRandomShapesAxesAndLayouts() {
        Rng rng = new Rng(21);
        for (int trial = 0; trial < 60; trial++) {
            int rank = 1 + rng.nextInt(3);
            int[] shape = StridedInputs.randomShape(rng, rank);
            int axis = rng.nextInt(rank) - (rng.nextInt(2) == 0 ? rank : 0);
            Tensor x = Elementwise.map(Elementwise.Fn.AFFINE, StridedInputs.anyLayout(rng, shape), 4, 0);
            Tensor g = StridedInputs.anyLayout(rng, shape);
            Tensor y = SoftmaxKernels.softmax(x, axis);
            TestData.assertClose(SoftmaxKernels.softmaxReference(x, axis), y, 1e-7, 1e-5);
            Tensor ly = SoftmaxKernels.logSoftmax(x, axis);
            TestData.assertClose(SoftmaxKernels.logSoftmaxReference(x, axis), ly, 1e-5, 1e-5);
            TestData.assertClose(SoftmaxKernels.softmaxBackwardReference(y, g, axis), SoftmaxKernels.softmaxBackward(y, g, axis),
                    1e-6, 1e-4);
            TestData.assertClose(SoftmaxKernels.logSoftmaxBackwardReference(ly, g, axis),
                    SoftmaxKernels.logSoftmaxBackward(ly, g, axis), 1e-5, 1e-4);
        }
    }

    @Test
    void softmaxOfAKnownVector() {
        Tensor y = SoftmaxKernels.softmax(Tensor.of(new float[] {1, 2, 3}, 3), 0);
        double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
        TestData.assertClose(new double[] {Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z}, y.toDoubleArray(), 1e-7, 1e-6);
        Tensor ly = SoftmaxKernels.logSoftmax(Tensor.of(new float[] {1, 2, 3}, 3), -1);
        assertEquals(3 - Math.log(z), ly.get(2), 1e-6);
    }

    @Test
    void largeLogitsDoNotOverflow() {
        float[] row = new float[40];
        row[0] = 1000;
        for (boolean f64 : new boolean[] {false, true}) {
            Tensor x = Tensor.of(row.clone(), 40);
            if (f64) x = x.to(DType.F64);
            Tensor y = SoftmaxKernels.softmax(x, 0);
            assertEquals(1, y.getDouble(0), 1e-7);
            assertEquals(0, y.getDouble(1), 1e-30);
            Tensor ly = SoftmaxKernels.logSoftmax(x, 0);
            assertEquals(0, ly.getDouble(0), 1e-6);
            assertEquals(-1000, ly.getDouble(1), 1e-3);
        }
        Tensor pair = SoftmaxKernels.softmax(Tensor.of(new float[] {1000, 0}, 2), 0);
        assertArrayEquals(new float[] {1, 0}, pair.toFloatArray());
    }

    @Test
    void crossEntropyOfUniformLogitsIsLogC() {
        for (int classes : new int[] {2, 17, 1000}) {
            Tensor logits = Tensor.full(3.5f, 4, classes);
            var ce = SoftmaxKernels.crossEntropy(logits, IntTensor.of(0, 1, classes - 1, 1), -100);
            assertEquals(Math.log(classes), ce.loss(), 1e-5);
            assertEquals(4, ce.count());
        }
    }

    @Test
    void crossEntropyMatchesReferenceAndItsGradientIsSoftmaxMinusOneHot() {
        Rng rng = new Rng(22);
        for (int classes : new int[] {1, 7, 16, 33, 130}) {
            Tensor logits = Elementwise.map(Elementwise.Fn.AFFINE, TestData.randn(rng, 2, 3, classes), 3, 0);
            int[] t = new int[6];
            for (int i = 0; i < t.length; i++) t[i] = rng.nextInt(classes);
            t[4] = -1; // ignored
            IntTensor targets = new IntTensor(t, new int[] {2, 3});
            var fast = SoftmaxKernels.crossEntropy(logits, targets, -1);
            var ref = SoftmaxKernels.crossEntropyReference(logits, targets, -1);
            assertEquals(ref.loss(), fast.loss(), 1e-5 * Math.max(1, ref.loss()));
            assertEquals(5, fast.count());
            Tensor dx = SoftmaxKernels.crossEntropyBackward(logits, targets, -1, fast, 2.0);
            TestData.assertClose(SoftmaxKernels.crossEntropyBackwardReference(logits, targets, -1, ref, 2.0), dx, 1e-6, 1e-4);
            // by hand: (softmax - onehot) * 2 / 5 on counted rows, zero on the ignored one
            Tensor p = SoftmaxKernels.softmaxReference(logits, -1);
            for (int r = 0; r < 6; r++) {
                for (int c = 0; c < classes; c++) {
                    double expected = r == 4 ? 0 : (p.getDouble(r / 3, r % 3, c) - (c == t[r] ? 1 : 0)) * 2 / 5;
                    assertEquals(expected, dx.getDouble(r / 3, r % 3, c), 1e-6);
                }
            }
        }
    }

    @Test
    void ignoredTargetsDoNotCountAndAllIgnoredGivesZero() {
        Tensor logits = Tensor.of(new float[] {0, 0, 5, 0}, 2, 2);
        var one = SoftmaxKernels.crossEntropy(logits, IntTensor.of(0, -100), -100);
        assertEquals(Math.log(2), one.loss(), 1e-6);
        assertEquals(1, one.count());
        var none = SoftmaxKernels.crossEntropy(logits, IntTensor.of(-100, -100), -100);
        assertEquals(0, none.loss());
        assertEquals(0, none.count());
        assertArrayEquals(new float[4], SoftmaxKernels.crossEntropyBackward(logits, IntTensor.of(-100, -100), -100, none, 1)
                .toFloatArray());
    }

    @Test
    void misuseNamesTheOpAndValues() {
        Tensor logits = Tensor.zeros(3, 5);
        Moe4jException range = assertThrows(Moe4jException.class,
                () -> SoftmaxKernels.crossEntropy(logits, IntTensor.of(0, 5, 1), -100));
        assertTrue(range.getMessage().contains("crossEntropy") && range.getMessage().contains("target 5")
                && range.getMessage().contains("position 1") && range.getMessage().contains("[0, 5)"), range.getMessage());
        assertThrows(Moe4jException.class, () -> SoftmaxKernels.crossEntropy(logits, IntTensor.of(0, -1, 1), -100));
        ShapeException shape = assertThrows(ShapeException.class,
                () -> SoftmaxKernels.crossEntropy(logits, IntTensor.of(0, 1), -100));
        assertTrue(shape.getMessage().contains("crossEntropy") && shape.getMessage().contains("[3, 5]"), shape.getMessage());
        ShapeException axis = assertThrows(ShapeException.class, () -> SoftmaxKernels.softmax(logits, 2));
        assertTrue(axis.getMessage().startsWith("softmax:") && axis.getMessage().contains("axis 2"), axis.getMessage());
        assertThrows(ShapeException.class, () -> SoftmaxKernels.logSoftmax(logits, -3));
    }
}
