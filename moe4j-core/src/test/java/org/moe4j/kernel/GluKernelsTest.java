package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class GluKernelsTest {
    private static int[] shape(Rng rng, int trial) {
        // mostly awkward small shapes; a few large enough to split across threads mid-block
        return trial % 20 == 0 ? new int[] {7, 5003} : StridedInputs.randomShape(rng, 1 + rng.nextInt(3));
    }

    /** Any layout, values spread over about [-12, 12] so that exp saturates at both ends somewhere. */
    private static Tensor wide(Rng rng, int[] shape) {
        Tensor t = StridedInputs.anyLayout(rng, shape);
        for (int i = 0; i < t.numel(); i++) {
            int at = t.storageIndex(i);
            t.storage().set(at, 4 * t.storage().get(at));
        }
        return t;
    }

    @Test
    void fastSwigluMatchesTheReferenceOnAnyLayout() {
        Rng rng = new Rng(1);
        for (int trial = 0; trial < 60; trial++) {
            int[] shape = shape(rng, trial);
            Tensor gate = wide(rng, shape);
            Tensor up = StridedInputs.anyLayout(rng, shape);
            Tensor fast = GluKernels.swiglu(gate, up);
            assertArrayEquals(shape, fast.shape());
            TestData.assertClose(GluKernels.swigluReference(gate, up), fast, 1e-6, 1e-5);
        }
    }

    @Test
    void fastBackwardMatchesTheReferenceOnAnyLayout() {
        Rng rng = new Rng(2);
        for (int trial = 0; trial < 60; trial++) {
            int[] shape = shape(rng, trial);
            Tensor gate = wide(rng, shape);
            Tensor up = StridedInputs.anyLayout(rng, shape);
            Tensor dh = StridedInputs.anyLayout(rng, shape);
            Tensor[] fast = GluKernels.swigluBackward(gate, up, dh);
            Tensor[] ref = GluKernels.swigluBackwardReference(gate, up, dh);
            TestData.assertClose(ref[0], fast[0], 1e-6, 1e-5);
            TestData.assertClose(ref[1], fast[1], 1e-6, 1e-5);
        }
    }

    @Test
    void closedFormAtZeroAndFarOut() {
        Tensor gate = Tensor.of(new float[] {0, 30, -30, 1}, 4);
        Tensor up = Tensor.of(new float[] {2, 3, 5, 1}, 4);
        float s1 = (float) (1 / (1 + Math.exp(-1)));
        // silu(0) = 0, silu(30) ~ 30, silu(-30) ~ 0, silu(1) = sigmoid(1)
        assertArrayEquals(new float[] {0, 90, 0, s1}, GluKernels.swiglu(gate, up).toFloatArray(), 1e-5f);
        Tensor[] g = GluKernels.swigluBackward(gate, up, Tensor.of(new float[] {1, 1, 1, 1}, 4));
        // d silu / dx at 0 is 1/2, so dGate = up / 2 there; dUp = silu(gate)
        assertArrayEquals(new float[] {1, 3, 0, s1 * (1 + 1 - s1)}, g[0].toFloatArray(), 1e-5f);
        assertArrayEquals(new float[] {0, 30, 0, s1}, g[1].toFloatArray(), 1e-5f);
    }

    @Test
    void shapeMismatchNamesTheOp() {
        ShapeException e = assertThrows(ShapeException.class,
                () -> GluKernels.swiglu(Tensor.zeros(2, 3), Tensor.zeros(3, 2)));
        assertTrue(e.getMessage().contains("swiglu"), e.getMessage());
        ShapeException b = assertThrows(ShapeException.class,
                () -> GluKernels.swigluBackward(Tensor.zeros(2, 3), Tensor.zeros(2, 3), Tensor.zeros(2, 4)));
        assertTrue(b.getMessage().contains("swiglu backward"), b.getMessage());
    }
}
