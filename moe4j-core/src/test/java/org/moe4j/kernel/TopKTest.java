package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class TopKTest {
    @Test
    void fastMatchesReferenceWithManyTiesOnEveryAxis() {
        Rng rng = new Rng(31);
        int[][] shapes = {{40}, {7, 33}, {3, 18, 5}, {64, 64}};
        for (int[] shape : shapes) {
            Tensor x = TestData.randn(rng, shape);
            float[] d = x.floats();
            for (int i = 0; i < d.length; i++) d[i] = Math.round(d[i] * 2); // few distinct values: many ties
            d[0] = -0.0f;
            if (d.length > 5) d[5] = Float.NaN;
            for (int axis = 0; axis < shape.length; axis++) {
                for (int k : new int[] {1, 2, 3, shape[axis]}) {
                    TopK.Result fast = TopK.topK(x, k, axis);
                    TopK.Result ref = TopK.topKReference(x, k, axis);
                    assertEquals(ref.indices(), fast.indices(), "k=" + k + " axis=" + axis);
                    assertArrayEquals(ref.values().toFloatArray(), fast.values().toFloatArray());
                }
            }
        }
        Tensor strided = TestData.randn(rng, 30, 12).transpose(0, 1);
        assertEquals(TopK.topKReference(strided, 4, 1).indices(), TopK.topK(strided, 4, 1).indices());
    }

    @Test
    void tiesGoToTheLowerIndexAndNanRanksFirst() {
        Tensor x = Tensor.of(new float[] {1, 3, 3, 2, 3, -0.0f, 0.0f}, 7);
        TopK.Result r = TopK.topK(x, 4, 0);
        assertArrayEquals(new int[] {1, 2, 4, 3}, r.indices().data());
        assertArrayEquals(new float[] {3, 3, 3, 2}, r.values().toFloatArray());
        Tensor zeros = Tensor.of(new float[] {-1, 0.0f, -0.0f}, 3);
        assertArrayEquals(new int[] {1, 2}, TopK.topK(zeros, 2, 0).indices().data());
        Tensor nan = Tensor.of(new float[] {5, Float.NaN, 7, Float.NaN}, 4);
        assertArrayEquals(new int[] {1, 3, 2}, TopK.topK(nan, 3, 0).indices().data());
        assertArrayEquals(new int[] {1, 3, 2}, TopK.topK(nan.to(DType.F64), 3, 0).indices().data());
    }

    @Test
    void routerSizedSelectionMatchesTheSortingReference() {
        Rng rng = new Rng(32);
        Tensor logits = TestData.randn(rng, 4096, 64);
        TopK.Result fast = TopK.topK(logits, 2, -1);
        assertArrayEquals(new int[] {4096, 2}, fast.values().shape());
        assertEquals(TopK.topKReference(logits, 2, -1).indices(), fast.indices());
        float[] v = fast.values().toFloatArray();
        for (int r = 0; r < 4096; r++) assertTrue(v[2 * r] >= v[2 * r + 1]);
    }

    @Test
    void indicesKeepTheInputShapeWithKOnTheAxis() {
        Tensor x = Tensor.of(new float[] {1, 9, 5, 7, 2, 8}, 3, 2); // columns {1,5,2} and {9,7,8}
        TopK.Result r = TopK.topK(x, 2, 0);
        assertEquals(new IntTensor(new int[] {1, 0, 2, 2}, new int[] {2, 2}), r.indices());
        assertArrayEquals(new float[] {5, 9, 2, 8}, r.values().toFloatArray());
    }

    @Test
    void misuseNamesTheOp() {
        Tensor x = Tensor.zeros(3, 4);
        var big = assertThrows(ShapeException.class, () -> TopK.topK(x, 5, 1));
        assertTrue(big.getMessage().startsWith("topK:") && big.getMessage().contains("k=5"), big.getMessage());
        assertThrows(ShapeException.class, () -> TopK.topK(x, 0, 1));
        var axis = assertThrows(ShapeException.class, () -> TopK.topK(x, 1, 2));
        assertTrue(axis.getMessage().startsWith("topK:"), axis.getMessage());
    }
}
