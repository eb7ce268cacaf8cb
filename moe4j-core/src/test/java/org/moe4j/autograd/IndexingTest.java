package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class IndexingTest {
    private final Rng rng = new Rng(61);

    private static void assertGradients(Function<Variable[], Variable> f, Tensor... inputs) {
        GradCheck.Result r = GradCheck.check(f, inputs);
        assertTrue(r.passed(), r.toString());
    }

    private IntTensor randomIndex(int bound, int... shape) {
        int[] data = new int[Shapes.numel(shape)];
        for (int i = 0; i < data.length; i++) data[i] = rng.nextInt(bound);
        return new IntTensor(data, shape);
    }

    @Test
    void embeddingPassesGradcheckWithRepeatedIds() {
        IntTensor ids = new IntTensor(new int[] {1, 3, 1, 6, 0, 1}, new int[] {2, 3});
        assertGradients(v -> Indexing.embedding(v[0], ids), TestData.randn64(rng, 7, 19));
    }

    @Test
    void gatherAndScatterAddPassGradcheck() {
        int[] shape = {3, 5, 17};
        for (int axis = 0; axis < 3; axis++) {
            int[] iShape = shape.clone();
            iShape[axis] = 2 + axis * 3;
            IntTensor index = randomIndex(shape[axis], iShape);
            int a = axis;
            assertGradients(v -> Indexing.gather(v[0], a, index), TestData.randn64(rng, shape));
            assertGradients(v -> Indexing.scatterAdd(v[0], a, index, v[1]), TestData.randn64(rng, shape),
                    TestData.randn64(rng, iShape));
        }
    }

    @Test
    void indexSelectAndIndexAddPassGradcheck() {
        IntTensor idx = IntTensor.of(2, 2, 5, 0, 3);
        assertGradients(v -> Indexing.indexSelect(v[0], 0, idx), TestData.randn64(rng, 6, 17));
        assertGradients(v -> Indexing.indexSelect(v[0], 1, idx), TestData.randn64(rng, 3, 6));
        assertGradients(v -> Indexing.indexAdd(v[0], 0, idx, v[1]), TestData.randn64(rng, 6, 17),
                TestData.randn64(rng, 5, 17));
        assertGradients(v -> Indexing.indexAdd(v[0], -1, idx, v[1]), TestData.randn64(rng, 2, 6),
                TestData.randn64(rng, 2, 5));
    }

    @Test
    void topKPassesGradcheckAndRoutesTheGradientToTheChosen() {
        assertGradients(v -> Indexing.topK(v[0], 3, 1).values(), TestData.randn64(rng, 5, 33));
        assertGradients(v -> Indexing.topK(v[0], 2, 0).values(), TestData.randn64(rng, 6, 4, 3));

        Variable x = Variable.parameter(Tensor.of(new float[] {0.5f, 2, 2, -1, 7, 2}, 2, 3));
        Indexing.TopKResult r = Indexing.topK(x, 2, 1);
        assertArrayEquals(new int[] {1, 2, 1, 2}, r.indices().data()); // row 0 tie: lower index first
        assertArrayEquals(new float[] {2, 2, 7, 2}, r.values().value().toFloatArray());
        r.values().backward(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2));
        assertArrayEquals(new float[] {0, 1, 2, 0, 3, 4}, x.grad().toFloatArray());
    }

    @Test
    void whereBroadcastsAndPassesGradcheck() {
        IntTensor mask = new IntTensor(new int[] {1, 0, 3, 0}, new int[] {4, 1});
        assertGradients(v -> Indexing.where(mask, v[0], v[1]), TestData.randn64(rng, 1, 17),
                TestData.randn64(rng, 3, 4, 17));
        IntTensor wide = randomIndex(2, 2, 5);
        assertGradients(v -> Indexing.where(wide, v[0], v[1]), TestData.randn64(rng, 5), TestData.randn64(rng));
        assertGradients(v -> Indexing.where(wide, v[0], v[0]), TestData.randn64(rng, 2, 5)); // both branches
    }

    @Test
    void maskedFillPassesGradcheckAndBlocksFilledGradients() {
        IntTensor mask = randomIndex(2, 17);
        assertGradients(v -> Indexing.maskedFill(v[0], mask, -3), TestData.randn64(rng, 3, 17));

        Variable x = Variable.parameter(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2));
        Variable y = Indexing.maskedFill(x, IntTensor.of(0, 1), -9);
        assertArrayEquals(new float[] {1, -9, 3, -9}, y.value().toFloatArray());
        y.backward(Tensor.full(1f, 2, 2));
        assertArrayEquals(new float[] {1, 0, 1, 0}, x.grad().toFloatArray());
    }

    @Test
    void embeddingOfKnownIdsAndItsWeightGradient() {
        Variable w = Variable.parameter(Tensor.of(new float[] {0, 1, 10, 11, 20, 21}, 3, 2));
        Variable e = Indexing.embedding(w, IntTensor.of(2, 0, 2));
        assertArrayEquals(new float[] {20, 21, 0, 1, 20, 21}, e.value().toFloatArray());
        e.backward(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2));
        assertArrayEquals(new float[] {3, 4, 0, 0, 6, 8}, w.grad().toFloatArray());
        var bad = assertThrows(ShapeException.class, () -> Indexing.embedding(w, IntTensor.of(0, 3)));
        assertTrue(bad.getMessage().startsWith("embedding:") && bad.getMessage().contains("id 3")
                && bad.getMessage().contains("vocabulary of 3"), bad.getMessage());
    }

    @Test
    void gatherThenScatterAddRestoresTheInput() {
        Variable x = Variable.constant(TestData.randn(rng, 4, 9));
        IntTensor all = new IntTensor(new int[] {8, 7, 6, 5, 4, 3, 2, 1, 0}, new int[] {1, 9});
        IntTensor idx = new IntTensor(new int[36], new int[] {4, 9});
        for (int r = 0; r < 4; r++) System.arraycopy(all.data(), 0, idx.data(), r * 9, 9);
        Variable g = Indexing.gather(x, 1, idx);
        Variable back = Indexing.scatterAdd(Variable.constant(Tensor.zeros(4, 9)), 1, idx, g);
        assertArrayEquals(x.value().toFloatArray(), back.value().toFloatArray());
    }

    @Test
    void misuseNamesTheOp() {
        Variable x = Variable.parameter(Tensor.zeros(3, 4));
        var range = assertThrows(ShapeException.class, () -> Indexing.indexSelect(x, 1, IntTensor.of(0, 4)));
        assertTrue(range.getMessage().startsWith("indexSelect:") && range.getMessage().contains("index 4"),
                range.getMessage());
        var axis = assertThrows(ShapeException.class, () -> Indexing.gather(x, -3, IntTensor.zeros(3, 4)));
        assertTrue(axis.getMessage().startsWith("gather:"), axis.getMessage());
        var k = assertThrows(ShapeException.class, () -> Indexing.topK(x, 9, 1));
        assertTrue(k.getMessage().startsWith("topK:"), k.getMessage());
        var where = assertThrows(ShapeException.class,
                () -> Indexing.where(IntTensor.zeros(2), x, Variable.constant(Tensor.zeros(3, 4))));
        assertTrue(where.getMessage().startsWith("where:"), where.getMessage());
    }
}
