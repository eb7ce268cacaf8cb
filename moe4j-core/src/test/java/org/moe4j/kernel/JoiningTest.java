package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class JoiningTest {
    @Test
    void concatFastMatchesReferenceOnEveryAxis() {
        Rng rng = new Rng(21);
        int[] base = {3, 5, 17};
        for (int axis = 0; axis < 3; axis++) {
            Tensor[] parts = new Tensor[4];
            for (int p = 0; p < parts.length; p++) {
                int[] s = base.clone();
                s[axis] = p == 2 ? 0 : 1 + rng.nextInt(20); // an empty part too
                parts[p] = TestData.randn(rng, s);
            }
            parts[1] = parts[1].copy().transpose(0, 2).contiguous().transpose(0, 2); // strided
            assertArrayEquals(Joining.concatReference(axis, parts).toFloatArray(),
                    Joining.concat(axis, parts).toFloatArray());
        }
    }

    @Test
    void concatPlacesPartsInOrder() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        Tensor b = Tensor.of(new float[] {5, 6}, 2, 1);
        assertArrayEquals(new float[] {1, 2, 5, 3, 4, 6}, Joining.concat(1, a, b).toFloatArray());
        assertArrayEquals(new float[] {1, 2, 3, 4, 1, 2, 3, 4}, Joining.concat(-2, a, a).toFloatArray());
        Tensor a64 = a.to(DType.F64);
        Tensor b64 = b.to(DType.F64);
        assertArrayEquals(new double[] {1, 2, 5, 3, 4, 6}, Joining.concat(1, a64, b64).toDoubleArray());
    }

    @Test
    void stackAddsANewAxis() {
        Tensor a = Tensor.of(new float[] {1, 2, 3}, 3);
        Tensor b = Tensor.of(new float[] {4, 5, 6}, 3);
        Tensor s0 = Joining.stack(0, a, b);
        assertArrayEquals(new int[] {2, 3}, s0.shape());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, s0.toFloatArray());
        Tensor s1 = Joining.stack(-1, a, b);
        assertArrayEquals(new int[] {3, 2}, s1.shape());
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, s1.toFloatArray());
    }

    @Test
    void misuseNamesTheOp() {
        var mismatch = assertThrows(ShapeException.class,
                () -> Joining.concat(0, Tensor.zeros(2, 3), Tensor.zeros(2, 4)));
        assertTrue(mismatch.getMessage().startsWith("concat:") && mismatch.getMessage().contains("[2, 4]"),
                mismatch.getMessage());
        var rank = assertThrows(ShapeException.class, () -> Joining.concat(0, Tensor.zeros(2, 3), Tensor.zeros(6)));
        assertTrue(rank.getMessage().startsWith("concat:"), rank.getMessage());
        var axis = assertThrows(ShapeException.class, () -> Joining.concat(2, Tensor.zeros(2, 3)));
        assertTrue(axis.getMessage().startsWith("concat:"), axis.getMessage());
        var none = assertThrows(ShapeException.class, () -> Joining.concat(0));
        assertTrue(none.getMessage().startsWith("concat:"), none.getMessage());
        var dtype = assertThrows(ShapeException.class,
                () -> Joining.concat(0, Tensor.zeros(2), Tensor.zeros(DType.F64, 2)));
        assertTrue(dtype.getMessage().startsWith("concat:"), dtype.getMessage());
        var stack = assertThrows(ShapeException.class, () -> Joining.stack(0, Tensor.zeros(2), Tensor.zeros(3)));
        assertTrue(stack.getMessage().startsWith("stack:"), stack.getMessage());
    }
}
