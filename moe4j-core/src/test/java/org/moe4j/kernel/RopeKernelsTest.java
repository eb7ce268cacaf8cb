package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.testing.TestData.assertClose;
import static org.moe4j.testing.TestData.randn;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;

class RopeKernelsTest {
    private final Rng rng = new Rng(17);

    @Test
    void fastMatchesReferenceOnOddWidthsAndStridedInputs() {
        int[][] shapes = {{1, 3, 1, 2}, {2, 5, 3, 6}, {7, 2, 34}, {1, 4, 2, 50}, {3, 1, 1, 64}, {2, 9, 2, 66}};
        for (int[] shape : shapes) {
            int d = shape[shape.length - 1];
            RopeKernels.Tables tables = RopeKernels.Tables.of(d, 10_000, 40);
            for (int start : new int[] {0, 3, 40 - shape[shape.length - 3]}) {
                Tensor x = randn(rng, shape);
                for (boolean inverse : new boolean[] {false, true}) {
                    assertClose(RopeKernels.rotateReference(x, tables, start, inverse),
                            RopeKernels.rotate(x, tables, start, inverse), 1e-6, 1e-5);
                }
                Tensor strided = StridedInputs.strided(rng, shape);
                assertClose(RopeKernels.rotateReference(strided, tables, start, false),
                        RopeKernels.rotate(strided, tables, start, false), 1e-6, 1e-5);
            }
        }
    }

    @Test
    void pairsElementIWithElementIPlusHalfAtTheAngleOfItsPosition() {
        int d = 4;
        double theta = 100;
        RopeKernels.Tables tables = RopeKernels.Tables.of(d, theta, 8);
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 1, 2, 3, 4}, 2, 1, d); // positions 5 and 6
        float[] y = RopeKernels.rotate(x, tables, 5, false).toFloatArray();
        for (int t = 0; t < 2; t++) {
            int p = 5 + t;
            for (int i = 0; i < 2; i++) {
                double angle = p * Math.pow(theta, -2.0 * i / d);
                double a = 1 + i, b = 3 + i; // x[i] and x[i + d/2]
                assertEquals(a * Math.cos(angle) - b * Math.sin(angle), y[t * d + i], 1e-6);
                assertEquals(b * Math.cos(angle) + a * Math.sin(angle), y[t * d + 2 + i], 1e-6);
            }
        }
        // Position 0 is the identity; the inverse undoes the rotation.
        Tensor first = x.narrow(0, 0, 1);
        assertArrayEquals(first.toFloatArray(), RopeKernels.rotate(first, tables, 0, false).toFloatArray(), 0f);
        Tensor back = RopeKernels.rotate(RopeKernels.rotate(x, tables, 5, false), tables, 5, true);
        assertClose(x, back, 1e-6, 0);
    }

    @Test
    void rotatingInPlaceGivesTheSameBits() {
        RopeKernels.Tables tables = RopeKernels.Tables.of(34, 10_000, 16);
        Tensor x = randn(rng, 5, 3, 34);
        float[] a = x.toFloatArray();
        float[] expected = new float[a.length];
        RopeKernels.rotateFloat(a, 0, expected, 0, 1, 5, 3, tables, 2, false);
        RopeKernels.rotateFloat(a, 0, a, 0, 1, 5, 3, tables, 2, false);
        assertArrayEquals(expected, a, 0f);
    }

    @Test
    void misuseNamesTheOp() {
        RopeKernels.Tables tables = RopeKernels.Tables.of(8, 10_000, 4);
        ShapeException width = assertThrows(ShapeException.class,
                () -> RopeKernels.rotate(Tensor.zeros(1, 2, 6), tables, 0, false));
        assertTrue(width.getMessage().startsWith("rope:"), width.getMessage());
        ShapeException past = assertThrows(ShapeException.class,
                () -> RopeKernels.rotate(Tensor.zeros(3, 1, 8), tables, 2, false));
        assertTrue(past.getMessage().contains("positions 2..4"), past.getMessage());
        assertThrows(Moe4jException.class, () -> RopeKernels.Tables.of(7, 10_000, 4));
        assertThrows(Moe4jException.class, () -> RopeKernels.Tables.of(8, 0.5, 4));
    }
}
