package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.testing.TestData.assertClose;
import static org.moe4j.testing.TestData.randn;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;

class HeadKernelsTest {
    private final Rng rng = new Rng(23);

    /** {B, T, n, D, repeat}: odd head widths, repeats of 1 to 3, a single position. */
    private static final int[][] CASES = {{1, 1, 1, 2, 1}, {2, 5, 3, 6, 2}, {3, 7, 2, 34, 3}, {1, 4, 1, 64, 4}, {2, 3, 4, 18, 1}};

    @Test
    void fastMatchesReference() {
        for (int[] c : CASES) {
            RopeKernels.Tables rope = RopeKernels.Tables.of(c[3], 10_000, 12);
            for (RopeKernels.Tables r : new RopeKernels.Tables[] {null, rope}) {
                for (int start : new int[] {0, 12 - c[1]}) {
                    Tensor x = randn(rng, c[0], c[1], c[2], c[3]);
                    assertClose(HeadKernels.splitReference(x, r, start, c[4]), HeadKernels.split(x, r, start, c[4]),
                            1e-6, 1e-5);
                    Tensor strided = StridedInputs.strided(rng, c[0], c[1], c[2], c[3]);
                    assertClose(HeadKernels.splitReference(strided, r, start, c[4]),
                            HeadKernels.split(strided, r, start, c[4]), 1e-6, 1e-5);
                    Tensor g = randn(rng, c[0], c[2] * c[4], c[1], c[3]);
                    assertClose(HeadKernels.splitBackwardReference(g, r, start, c[4]),
                            HeadKernels.splitBackward(g, r, start, c[4]), 1e-5, 1e-5);
                }
            }
            Tensor y = StridedInputs.transposed(rng, c[0], c[2], c[1], c[3]);
            assertClose(HeadKernels.mergeReference(y), HeadKernels.merge(y), 0, 0);
        }
    }

    @Test
    void splitIsAPermutationWithRepeatsAndMergeUndoesIt() {
        Tensor x = randn(rng, 2, 3, 2, 4); // [B, T, n, D]
        Tensor heads = HeadKernels.split(x, null, 0, 2); // [B, 4, T, D]
        for (int h = 0; h < 4; h++) {
            assertArrayEquals(x.narrow(2, h / 2, 1).squeeze(2).toFloatArray(), heads.narrow(1, h, 1).squeeze(1)
                    .toFloatArray(), 0f, "head " + h + " repeats kv head " + h / 2);
        }
        Tensor once = HeadKernels.split(x, null, 0, 1);
        assertArrayEquals(x.toFloatArray(), HeadKernels.merge(once).toFloatArray(), 0f);
        // With rotation, split equals rotating first (RopeKernels) and then splitting.
        RopeKernels.Tables rope = RopeKernels.Tables.of(4, 100, 8);
        assertClose(HeadKernels.split(RopeKernels.rotate(x, rope, 3, false), null, 0, 2),
                HeadKernels.split(x, rope, 3, 2), 0, 0);
    }

    @Test
    void misuseNamesTheOp() {
        ShapeException rank = assertThrows(ShapeException.class, () -> HeadKernels.split(Tensor.zeros(2, 3, 4), null, 0, 1));
        assertTrue(rank.getMessage().startsWith("splitHeads:"), rank.getMessage());
        RopeKernels.Tables rope = RopeKernels.Tables.of(4, 100, 4);
        assertThrows(ShapeException.class, () -> HeadKernels.split(Tensor.zeros(1, 5, 1, 4), rope, 0, 1));
        assertThrows(ShapeException.class, () -> HeadKernels.split(Tensor.zeros(1, 2, 1, 6), rope, 0, 1));
        assertThrows(ShapeException.class, () -> HeadKernels.splitBackward(Tensor.zeros(1, 3, 2, 4), null, 0, 2));
        assertThrows(ShapeException.class, () -> HeadKernels.merge(Tensor.zeros(2, 3, 4)));
    }
}
