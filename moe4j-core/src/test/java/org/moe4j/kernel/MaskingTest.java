package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class MaskingTest {
    @Test
    void whereFastMatchesReferenceUnderBroadcasting() {
        Rng rng = new Rng(11);
        int[][][] cases = { // mask, a, b
            {{4, 37}, {4, 37}, {4, 37}},
            {{37}, {3, 37}, {1}},
            {{5, 1}, {1, 19}, {2, 5, 19}},
            {{2, 1, 33}, {6, 33}, {2, 6, 1}},
            {{}, {3, 17}, {17}},
            {{3, 4, 16}, {3, 4, 16}, {}},
        };
        for (int[][] c : cases) {
            IntTensor mask = GatheringTest.randomIndex(rng, 3, c[0]); // 0 (false), 1 or 2 (true)
            Tensor a = TestData.randn(rng, c[1]);
            Tensor b = TestData.randn(rng, c[2]);
            assertArrayEquals(Masking.whereReference(mask, a, b).toFloatArray(),
                    Masking.where(mask, a, b).toFloatArray());
        }
        // Strided operands.
        IntTensor mask = GatheringTest.randomIndex(rng, 2, 9, 20);
        Tensor a = TestData.randn(rng, 20, 9).transpose(0, 1);
        Tensor b = TestData.randn(rng, 9, 40).slice(1, 0, 40, 2);
        assertArrayEquals(Masking.whereReference(mask, a, b).toFloatArray(), Masking.where(mask, a, b).toFloatArray());
    }

    @Test
    void whereSelectsByNonzeroMask() {
        Tensor a = Tensor.of(new float[] {1, 2, 3}, 3);
        Tensor b = Tensor.of(new float[] {-1, -2}, 2, 1);
        Tensor y = Masking.where(IntTensor.of(1, 0, -5), a, b);
        assertArrayEquals(new int[] {2, 3}, y.shape());
        assertArrayEquals(new float[] {1, -1, 3, 1, -2, 3}, y.toFloatArray());
        Tensor y64 = Masking.where(IntTensor.of(0, 1, 0), a.to(DType.F64), b.to(DType.F64));
        assertArrayEquals(new double[] {-1, 2, -1, -2, 2, -2}, y64.toDoubleArray());
    }

    @Test
    void maskedFillAppliesACausalMaskToEveryHead() {
        int t = 19;
        Rng rng = new Rng(12);
        Tensor scores = TestData.randn(rng, 2, 3, t, t);
        int[] causal = new int[t * t];
        for (int i = 0; i < t; i++) for (int j = i + 1; j < t; j++) causal[i * t + j] = 1;
        IntTensor mask = new IntTensor(causal, new int[] {t, t});
        Tensor y = Masking.maskedFill(scores, mask, Float.NEGATIVE_INFINITY);
        assertArrayEquals(Masking.maskedFillReference(scores, mask, Float.NEGATIVE_INFINITY).toFloatArray(),
                y.toFloatArray());
        for (int h = 0; h < 3; h++) {
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < t; j++) {
                    float expected = j > i ? Float.NEGATIVE_INFINITY : scores.get(1, h, i, j);
                    assertTrue(expected == y.get(1, h, i, j), "at " + h + "," + i + "," + j);
                }
            }
        }
    }

    @Test
    void misuseNamesTheOp() {
        var shapes = assertThrows(ShapeException.class,
                () -> Masking.where(IntTensor.zeros(3), Tensor.zeros(4), Tensor.zeros(4)));
        assertTrue(shapes.getMessage().startsWith("where:"), shapes.getMessage());
        var dtypes = assertThrows(ShapeException.class,
                () -> Masking.where(IntTensor.zeros(3), Tensor.zeros(3), Tensor.zeros(DType.F64, 3)));
        assertTrue(dtypes.getMessage().startsWith("where:"), dtypes.getMessage());
        var fill = assertThrows(ShapeException.class,
                () -> Masking.maskedFill(Tensor.zeros(4), IntTensor.zeros(2, 4), 1));
        assertTrue(fill.getMessage().startsWith("maskedFill:"), fill.getMessage());
    }
}
