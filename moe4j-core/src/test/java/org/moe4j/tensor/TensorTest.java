package org.moe4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.ShapeException;

class TensorTest {
    private static Tensor arange(int... shape) {
        float[] d = new float[Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = i;
        return Tensor.of(d, shape);
    }

    @Test
    void reshapeOfContiguousIsAViewAndInfersMinusOne() {
        Tensor t = arange(2, 3, 4);
        Tensor r = t.reshape(6, -1);
        assertArrayEquals(new int[] {6, 4}, r.shape());
        r.set(100, 5, 3);
        assertEquals(100f, t.get(1, 2, 3));
    }

    @Test
    void transposeIsAStridedViewAndContiguousCopiesInLogicalOrder() {
        Tensor t = arange(2, 3);
        Tensor tt = t.transpose(0, 1);
        assertFalse(tt.isContiguous());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, tt.toFloatArray());
        Tensor c = tt.contiguous();
        assertTrue(c.isContiguous());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, c.floats());
        // reshape of a non-contiguous view copies, so it still reads in logical order
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, tt.reshape(6).toFloatArray());
    }

    @Test
    void permuteNarrowSliceAndExpand() {
        Tensor t = arange(2, 3, 4);
        Tensor p = t.permute(2, 0, 1);
        assertArrayEquals(new int[] {4, 2, 3}, p.shape());
        assertEquals(t.get(1, 2, 3), p.get(3, 1, 2));
        Tensor n = t.narrow(2, 1, 2);
        assertArrayEquals(new float[] {1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22}, n.toFloatArray());
        Tensor s = arange(10).slice(0, 1, -1, 3);
        assertArrayEquals(new float[] {1, 4, 7}, s.toFloatArray());
        Tensor e = arange(3, 1).expand(2, 3, 4);
        assertArrayEquals(new int[] {2, 3, 4}, e.shape());
        assertEquals(2f, e.get(1, 2, 3));
        assertEquals(0, e.stride(0));
    }

    @Test
    void unsqueezeAndSqueezeRoundTrip() {
        Tensor t = arange(2, 3);
        Tensor u = t.unsqueeze(1);
        assertArrayEquals(new int[] {2, 1, 3}, u.shape());
        assertTrue(u.isContiguous());
        assertArrayEquals(t.toFloatArray(), u.squeeze(1).toFloatArray());
        assertArrayEquals(new int[] {2, 3, 1}, t.unsqueeze(-1).shape());
    }

    @Test
    void copyFromWritesThroughAView() {
        Tensor t = Tensor.zeros(3, 3);
        t.transpose(0, 1).narrow(0, 1, 1).copyFrom(Tensor.of(new float[] {7, 8, 9}, 1, 3));
        assertArrayEquals(new float[] {0, 7, 0, 0, 8, 0, 0, 9, 0}, t.floats());
    }

    @Test
    void f64TensorsKeepDoublePrecision() {
        Tensor t = Tensor.ofDoubles(new double[] {1 + 1e-12, 2}, 2);
        assertEquals(1 + 1e-12, t.getDouble(0));
        assertEquals(DType.F32, t.to(DType.F32).dtype());
    }

    @Test
    void misuseNamesTheOpAndShape() {
        Tensor t = arange(2, 3);
        ShapeException e = assertThrows(ShapeException.class, () -> t.reshape(4, 2));
        assertTrue(e.getMessage().startsWith("reshape:"), e.getMessage());
        assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
        assertThrows(ShapeException.class, () -> t.permute(0, 0));
        assertThrows(ShapeException.class, () -> t.transpose(0, 2));
        assertThrows(ShapeException.class, () -> t.expand(4, 3));
        assertThrows(ShapeException.class, () -> t.get(2, 0));
        assertThrows(ShapeException.class, () -> Tensor.of(new float[5], 2, 3));
        assertThrows(ShapeException.class, () -> Tensor.zeros(1 << 16, 1 << 16));
    }

    @Test
    void broadcastShapes() {
        assertArrayEquals(new int[] {3, 4, 5}, Shapes.broadcast("add", new int[] {3, 1, 5}, new int[] {4, 1}));
        ShapeException e = assertThrows(ShapeException.class,
                () -> Shapes.broadcast("add", new int[] {3, 2}, new int[] {4}));
        assertTrue(e.getMessage().contains("add: shapes cannot be broadcast together, shapes [3, 2] and [4]"),
                e.getMessage());
    }
}
