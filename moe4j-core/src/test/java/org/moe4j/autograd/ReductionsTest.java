package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.autograd.ArithTest.check;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class ReductionsTest {
    private static final int[][] AXES = {{0}, {1}, {2}, {-1}, {0, 2}, {1, 2}, {0, 1, 2}, {2, 0}};

    @Test
    void sumMeanMaxPassGradcheck() {
        Rng rng = new Rng(61);
        Tensor x = TestData.randn64(rng, 3, 4, 7);
        for (int[] axes : AXES) {
            for (boolean keep : new boolean[] {false, true}) {
                String what = java.util.Arrays.toString(axes) + " keepDim " + keep;
                check("sum " + what, v -> Reductions.sum(v[0], axes, keep), x);
                check("mean " + what, v -> Reductions.mean(v[0], axes, keep), x);
                check("max " + what, v -> Reductions.max(v[0], axes, keep), x);
            }
        }
        Tensor odd = TestData.randn64(rng, 17);
        check("sum all", v -> Reductions.sum(v[0]), odd);
        check("mean all", v -> Reductions.mean(v[0]), odd);
        check("max 1", v -> Reductions.max(v[0], 0, false), TestData.randn64(rng, 1));
        check("mean of a broadcast product", v -> Reductions.mean(Arith.mul(v[0], v[1]), 1, true),
                TestData.randn64(rng, 3, 1, 5), TestData.randn64(rng, 4, 1));
    }

    @Test
    void maxGradientGoesToTheFirstOfTiedMaxima() {
        Variable x = Variable.parameter(Tensor.of(new float[] {1, 4, 4, 0, 2, 2}, 2, 3));
        Reductions.sum(Reductions.max(x, 1, false)).backward();
        assertArrayEquals(new float[] {0, 1, 0, 0, 1, 0}, x.grad().toFloatArray());
        Variable all = Variable.parameter(Tensor.of(new float[] {1, 4, 4, 0, 2, 2}, 2, 3));
        Reductions.max(all, new int[] {0, 1}, false).backward();
        assertArrayEquals(new float[] {0, 1, 0, 0, 0, 0}, all.grad().toFloatArray());
    }

    @Test
    void argmaxAndValues() {
        Variable x = Variable.constant(Tensor.of(new float[] {1, 4, 4, 0, 2, 2}, 2, 3));
        assertArrayEquals(new int[] {1, 1}, Reductions.argmax(x, 1).data());
        assertArrayEquals(new int[] {2, 1}, Reductions.argmax(x, -1, true).shape());
        assertEquals(13, Reductions.sum(x).value().item());
        assertEquals(13 / 6.0, Reductions.mean(x).value().item(), 1e-6);
        assertArrayEquals(new float[] {0.5f, 3f, 3f}, Reductions.mean(x, 0, false).value().toFloatArray());
        assertEquals("mean", Reductions.mean(x).op());
    }

    @Test
    void badAxisNamesTheOp() {
        Variable x = Variable.parameter(Tensor.zeros(2, 3));
        ShapeException e = assertThrows(ShapeException.class, () -> Reductions.max(x, 5, false));
        assertTrue(e.getMessage().startsWith("max:") && e.getMessage().contains("axis 5"), e.getMessage());
        assertThrows(ShapeException.class, () -> Reductions.sum(x, new int[] {0, 0}, false));
        assertThrows(ShapeException.class, () -> Reductions.mean(x, -3, true));
    }
}
