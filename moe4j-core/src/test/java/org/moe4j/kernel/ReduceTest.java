package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class ReduceTest {
    @Test
    void fastPathsMatchReferenceOnRandomAxesAndLayouts() {
        Rng rng = new Rng(11);
        for (int trial = 0; trial < 200; trial++) {
            int rank = 1 + rng.nextInt(4);
            int[] shape = StridedInputs.randomShape(rng, rank);
            Tensor x = StridedInputs.anyLayout(rng, shape);
            int[] axes = randomAxes(rng, rank);
            boolean keepDim = rng.nextInt(2) == 0;
            String what = Arrays.toString(shape) + " axes " + Arrays.toString(axes) + " keepDim " + keepDim;
            int reduced = 1;
            for (int a : axes) reduced *= shape[a < 0 ? a + rank : a];
            double atol = 1e-5 * Math.sqrt(reduced);
            TestData.assertClose(Reduce.sumReference(x, axes, keepDim), Reduce.sum(x, axes, keepDim), atol, 1e-5);
            TestData.assertClose(Reduce.meanReference(x, axes, keepDim), Reduce.mean(x, axes, keepDim), atol, 1e-5);
            Reduce.MaxResult fast = Reduce.max(x, axes, keepDim);
            Reduce.MaxResult ref = Reduce.maxReference(x, axes, keepDim);
            assertArrayEquals(ref.values().toFloatArray(), fast.values().toFloatArray(), what);
            assertArrayEquals(ref.positions(), fast.positions(), what);
            assertArrayEquals(ref.values().shape(), fast.values().shape(), what);
        }
    }

    @Test
    void sumsAndMeansAlongKnownAxes() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertArrayEquals(new float[] {5, 7, 9}, Reduce.sum(x, new int[] {0}, false).toFloatArray());
        assertArrayEquals(new float[] {6, 15}, Reduce.sum(x, new int[] {-1}, false).toFloatArray());
        assertArrayEquals(new int[] {2, 1}, Reduce.sum(x, new int[] {1}, true).shape());
        assertEquals(21, Reduce.sum(x).item());
        assertEquals(0, Reduce.sum(x).rank());
        assertEquals(3.5, Reduce.mean(x).item());
        assertArrayEquals(new float[] {2, 5}, Reduce.mean(x, new int[] {1}, false).toFloatArray());
        assertEquals(3.5, Reduce.mean(x.to(DType.F64)).item());
        // no axes: nothing reduced
        assertArrayEquals(x.toFloatArray(), Reduce.sum(x, new int[0], false).toFloatArray());
    }

    @Test
    void maxAndArgmaxBreakTiesTowardTheLowestIndex() {
        Tensor x = Tensor.of(new float[] {3, 1, 3, 2, 5, 5, 5, 0}, 2, 4);
        IntTensor arg = Reduce.argmax(x, 1, false);
        assertArrayEquals(new int[] {0, 0}, arg.data());
        assertArrayEquals(new int[] {2}, arg.shape());
        assertArrayEquals(new int[] {2, 1}, Reduce.argmax(x, -1, true).shape());
        assertArrayEquals(new int[] {1, 1, 1, 0}, Reduce.argmax(x, 0, false).data());
        assertArrayEquals(new int[] {0, 0}, Reduce.argmax(Tensor.of(new float[] {2, 2, 2, 1}, 2, 2), 0, false).data());
        Reduce.MaxResult all = Reduce.max(x, new int[] {0, 1}, false);
        assertEquals(5, all.values().item());
        assertArrayEquals(new int[] {4}, all.positions()); // row 1, column 0 in row-major order
        // a long row with its maximum twice, past the vector loop
        float[] row = new float[100];
        row[37] = 9;
        row[90] = 9;
        assertArrayEquals(new int[] {37}, Reduce.argmax(Tensor.of(row, 100), 0, false).data());
        row[50] = Float.NaN;
        assertArrayEquals(new int[] {50}, Reduce.argmax(Tensor.of(row, 100), 0, false).data());
    }

    @Test
    void maxBackwardRoutesToTheFirstMaximum() {
        Tensor x = Tensor.of(new float[] {3, 1, 3, 2, 5, 5}, 2, 3);
        Reduce.MaxResult r = Reduce.max(x, new int[] {1}, false);
        Tensor dx = Reduce.maxBackward(Tensor.of(new float[] {10, 20}, 2), x.shape(), new int[] {1}, r.positions());
        assertArrayEquals(new float[] {10, 0, 0, 0, 20, 0}, dx.toFloatArray());
    }

    @Test
    void sumToShapeUndoesBroadcasting() {
        Rng rng = new Rng(12);
        Tensor g = TestData.randn(rng, 3, 4, 5);
        Tensor toA = Reduce.sumToShape(g, new int[] {3, 1, 5});
        Tensor toB = Reduce.sumToShape(g, new int[] {4, 1});
        assertArrayEquals(new int[] {3, 1, 5}, toA.shape());
        assertArrayEquals(new int[] {4, 1}, toB.shape());
        for (int j = 0; j < 4; j++) {
            double s = 0;
            for (int i = 0; i < 3; i++) for (int k = 0; k < 5; k++) s += g.get(i, j, k);
            assertEquals(s, toB.get(j, 0), 1e-4);
        }
        assertEquals(g, Reduce.sumToShape(g, new int[] {3, 4, 5}), "nothing to reduce returns the gradient itself");
        assertArrayEquals(new int[] {5}, Reduce.sumToShape(g, new int[] {5}).shape());
        assertArrayEquals(new int[0], Reduce.sumToShape(g, new int[0]).shape());
        ShapeException e = assertThrows(ShapeException.class, () -> Reduce.sumToShape(g, new int[] {2, 5}));
        assertTrue(e.getMessage().contains("sumToShape") && e.getMessage().contains("[3, 4, 5]"), e.getMessage());
    }

    @Test
    void longRowSumDoesNotDependOnTheThreadCount() {
        Rng rng = new Rng(13);
        Tensor x = TestData.randn(rng, 300_001);
        int saved = Parallel.threads();
        try {
            Parallel.setThreads(1);
            float one = (float) Reduce.sum(x).item();
            Parallel.setThreads(3);
            float three = (float) Reduce.sum(x).item();
            assertEquals(one, three, 0f);
            assertEquals(Reduce.sumReference(x, new int[] {0}, false).item(), one, 1e-2);
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void badAxesAreRejectedWithTheOpName() {
        Tensor x = Tensor.zeros(2, 3);
        ShapeException bad = assertThrows(ShapeException.class, () -> Reduce.sum(x, new int[] {2}, false));
        assertTrue(bad.getMessage().startsWith("sum:") && bad.getMessage().contains("axis 2"), bad.getMessage());
        ShapeException rep = assertThrows(ShapeException.class, () -> Reduce.mean(x, new int[] {1, -1}, false));
        assertTrue(rep.getMessage().startsWith("mean:") && rep.getMessage().contains("repeated"), rep.getMessage());
        ShapeException empty = assertThrows(ShapeException.class, () -> Reduce.max(Tensor.zeros(2, 0), new int[] {1}, false));
        assertTrue(empty.getMessage().startsWith("max:"), empty.getMessage());
        assertThrows(ShapeException.class, () -> Reduce.argmax(x, -3, false));
    }

    /** A random non-empty set of distinct axes, some given as negative numbers. */
    private static int[] randomAxes(Rng rng, int rank) {
        int[] all = new int[rank];
        for (int i = 0; i < rank; i++) all[i] = i;
        rng.shuffle(all);
        int[] axes = Arrays.copyOf(all, 1 + rng.nextInt(rank));
        for (int i = 0; i < axes.length; i++) if (rng.nextInt(2) == 0) axes[i] -= rank;
        return axes;
    }
}
