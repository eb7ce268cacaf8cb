package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class GatheringTest {
    private static final int[][] SHAPES = {{37}, {5, 19}, {3, 4, 17}, {2, 33, 3}, {1, 70}, {4, 1, 5}};

    static IntTensor randomIndex(Rng rng, int bound, int... shape) {
        int[] data = new int[Shapes.numel(shape)];
        for (int i = 0; i < data.length; i++) data[i] = rng.nextInt(bound);
        return new IntTensor(data, shape);
    }

    @Test
    void gatherAndScatterAddFastMatchReferenceOnEveryAxis() {
        Rng rng = new Rng(1);
        for (int[] shape : SHAPES) {
            for (int axis = 0; axis < shape.length; axis++) {
                Tensor x = TestData.randn(rng, shape);
                int[] iShape = shape.clone();
                iShape[axis] = 1 + rng.nextInt(40); // more or fewer picks than the axis holds, with repeats
                IntTensor index = randomIndex(rng, shape[axis], iShape);
                assertArrayEquals(Gathering.gatherReference(x, axis, index).toFloatArray(),
                        Gathering.gather(x, axis, index).toFloatArray());
                Tensor src = TestData.randn(rng, iShape);
                assertArrayEquals(Gathering.scatterAddReference(x, axis, index, src).toFloatArray(),
                        Gathering.scatterAdd(x, axis, index, src).toFloatArray());
            }
        }
    }

    @Test
    void fastPathsHandleStridedInputs() {
        Rng rng = new Rng(2);
        Tensor x = TestData.randn(rng, 21, 6).transpose(0, 1); // [6, 21], not contiguous
        IntTensor index = randomIndex(rng, 21, 6, 35);
        assertArrayEquals(Gathering.gatherReference(x, 1, index).toFloatArray(),
                Gathering.gather(x, 1, index).toFloatArray());
        Tensor src = TestData.randn(rng, 35, 6).transpose(0, 1);
        assertArrayEquals(Gathering.scatterAddReference(x, 1, index, src).toFloatArray(),
                Gathering.scatterAdd(x, 1, index, src).toFloatArray());
        IntTensor sel = randomIndex(rng, 21, 9);
        assertArrayEquals(Gathering.indexSelectReference(x, 1, sel).toFloatArray(),
                Gathering.indexSelect(x, 1, sel).toFloatArray());
        Tensor src2 = TestData.randn(rng, 9, 6).transpose(0, 1);
        assertArrayEquals(Gathering.indexAddReference(x, 1, sel, src2).toFloatArray(),
                Gathering.indexAdd(x, 1, sel, src2).toFloatArray());
    }

    @Test
    void indexSelectAndIndexAddFastMatchReference() {
        Rng rng = new Rng(3);
        for (int[] shape : SHAPES) {
            for (int axis = 0; axis < shape.length; axis++) {
                Tensor x = TestData.randn(rng, shape);
                IntTensor index = randomIndex(rng, shape[axis], 1 + rng.nextInt(30));
                assertArrayEquals(Gathering.indexSelectReference(x, axis, index).toFloatArray(),
                        Gathering.indexSelect(x, axis, index).toFloatArray());
                int[] srcShape = shape.clone();
                srcShape[axis] = index.numel();
                Tensor src = TestData.randn(rng, srcShape);
                assertArrayEquals(Gathering.indexAddReference(x, axis, index, src).toFloatArray(),
                        Gathering.indexAdd(x, axis, index, src).toFloatArray());
            }
        }
    }

    @Test
    void largeScatterAddsSplitAcrossThreadsAndStayExact() {
        Rng rng = new Rng(4);
        // One outer row (axis 0), so the fast path splits the 300 columns between threads.
        Tensor x = TestData.randn(rng, 50, 300);
        IntTensor index = randomIndex(rng, 50, 2000);
        Tensor src = TestData.randn(rng, 2000, 300);
        assertArrayEquals(Gathering.indexAddReference(x, 0, index, src).toFloatArray(),
                Gathering.indexAdd(x, 0, index, src).toFloatArray());
        IntTensor scatterIndex = randomIndex(rng, 50, 2000, 300);
        assertArrayEquals(Gathering.scatterAddReference(x, 0, scatterIndex, src).toFloatArray(),
                Gathering.scatterAdd(x, 0, scatterIndex, src).toFloatArray());
    }

    @Test
    void gatherPicksKnownElements() {
        Tensor x = Tensor.of(new float[] {10, 11, 12, 20, 21, 22}, 2, 3);
        Tensor y = Gathering.gather(x, 1, new IntTensor(new int[] {2, 0, 1, 1}, new int[] {2, 2}));
        assertArrayEquals(new float[] {12, 10, 21, 21}, y.toFloatArray());
        Tensor z = Gathering.gather(x, 0, new IntTensor(new int[] {1, 0, 1}, new int[] {1, 3}));
        assertArrayEquals(new float[] {20, 11, 22}, z.toFloatArray());
    }

    @Test
    void scatterAddOfAGatherByPermutationRestoresTheInput() {
        Rng rng = new Rng(5);
        Tensor x = TestData.randn(rng, 7, 23);
        int[] perm = new int[7 * 23];
        for (int r = 0; r < 7; r++) {
            int[] row = new int[23];
            for (int j = 0; j < 23; j++) row[j] = j;
            rng.shuffle(row);
            System.arraycopy(row, 0, perm, r * 23, 23);
        }
        IntTensor index = new IntTensor(perm, new int[] {7, 23});
        Tensor gathered = Gathering.gather(x, 1, index);
        Tensor back = Gathering.scatterAdd(x.newZeros(7, 23), 1, index, gathered);
        assertArrayEquals(x.toFloatArray(), back.toFloatArray());
    }

    @Test
    void embeddingLooksUpRowsAndItsBackwardAddsRepeatedIds() {
        Tensor w = Tensor.of(new float[] {0, 1, 10, 11, 20, 21, 30, 31}, 4, 2);
        IntTensor ids = new IntTensor(new int[] {3, 1, 1, 0, 2, 3}, new int[] {2, 3});
        Tensor e = Gathering.embedding(w, ids);
        assertArrayEquals(new int[] {2, 3, 2}, e.shape());
        assertArrayEquals(new float[] {30, 31, 10, 11, 10, 11, 0, 1, 20, 21, 30, 31}, e.toFloatArray());

        Tensor g = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 2, 3, 2);
        Tensor dw = Gathering.embeddingBackward(g, ids, 4);
        assertArrayEquals(new float[] {7, 8, 3 + 5, 4 + 6, 9, 10, 1 + 11, 2 + 12}, dw.toFloatArray());
        assertArrayEquals(Gathering.indexAddReference(w.newZeros(4, 2), 0, ids.reshape(6), g.reshape(6, 2))
                .toFloatArray(), dw.toFloatArray());
    }

    @Test
    void embeddingNamesAnOutOfRangeIdAndTheVocabulary() {
        Tensor w = Tensor.zeros(5, 3);
        var e = assertThrows(ShapeException.class, () -> Gathering.embedding(w, IntTensor.of(1, 7, 2)));
        assertTrue(e.getMessage().startsWith("embedding:"), e.getMessage());
        assertTrue(e.getMessage().contains("id 7") && e.getMessage().contains("vocabulary of 5"), e.getMessage());
        assertThrows(ShapeException.class, () -> Gathering.embedding(w, IntTensor.of(-1)));
        var rank = assertThrows(ShapeException.class, () -> Gathering.embedding(Tensor.zeros(5), IntTensor.of(1)));
        assertTrue(rank.getMessage().contains("[vocab, dim]"), rank.getMessage());
    }

    @Test
    void misuseNamesTheOp() {
        Tensor x = Tensor.zeros(3, 4);
        var range = assertThrows(ShapeException.class,
                () -> Gathering.gather(x, 1, new IntTensor(new int[] {0, 4, 1}, new int[] {3, 1})));
        assertTrue(range.getMessage().startsWith("gather:") && range.getMessage().contains("index 4"),
                range.getMessage());
        var axis = assertThrows(ShapeException.class, () -> Gathering.gather(x, 2, IntTensor.zeros(3, 4)));
        assertTrue(axis.getMessage().startsWith("gather:") && axis.getMessage().contains("axis 2"), axis.getMessage());
        var shape = assertThrows(ShapeException.class, () -> Gathering.gather(x, 1, IntTensor.zeros(2, 4)));
        assertTrue(shape.getMessage().startsWith("gather:"), shape.getMessage());
        var src = assertThrows(ShapeException.class,
                () -> Gathering.scatterAdd(x, 0, IntTensor.zeros(2, 4), Tensor.zeros(2, 3)));
        assertTrue(src.getMessage().startsWith("scatterAdd:"), src.getMessage());
        var oneD = assertThrows(ShapeException.class, () -> Gathering.indexSelect(x, 0, IntTensor.zeros(2, 2)));
        assertTrue(oneD.getMessage().startsWith("indexSelect:"), oneD.getMessage());
        var sel = assertThrows(ShapeException.class, () -> Gathering.indexSelect(x, 0, IntTensor.of(3)));
        assertTrue(sel.getMessage().startsWith("indexSelect:") && sel.getMessage().contains("index 3"),
                sel.getMessage());
        var add = assertThrows(ShapeException.class,
                () -> Gathering.indexAdd(x, 0, IntTensor.of(0, 1), Tensor.zeros(3, 4)));
        assertTrue(add.getMessage().startsWith("indexAdd:"), add.getMessage());
        assertEquals(0f, x.toFloatArray()[0]); // nothing was written
    }
}
