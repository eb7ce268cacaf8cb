package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.testing.TestData.assertClose;
import static org.moe4j.testing.TestData.randn;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

class PoolTest {
    /** {N, C, H, W, kh, kw, strideH, strideW, padH, padW}. */
    private static final int[][] CASES = {
        {2, 3, 7, 9, 3, 3, 2, 2, 1, 1},
        {1, 5, 8, 5, 2, 2, 2, 2, 0, 0},
        {3, 2, 6, 7, 3, 2, 1, 2, 1, 1},
        {2, 1, 5, 5, 5, 5, 1, 1, 2, 2},
        {1, 17, 4, 4, 1, 1, 1, 1, 0, 0},
    };

    private final Rng rng = new Rng(11);

    @Test
    void fastMatchesReference() {
        for (int[] c : CASES) {
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]);
            Pool.MaxPoolResult fast = Pool.maxPool2d(x, c[4], c[5], c[6], c[7], c[8], c[9]);
            Pool.MaxPoolResult ref = Pool.maxPool2dReference(x, c[4], c[5], c[6], c[7], c[8], c[9]);
            assertClose(ref.out(), fast.out(), 0, 0);
            assertEquals(ref.indices(), fast.indices());
            Tensor g = randn(rng, fast.out().shape());
            assertClose(Pool.maxPool2dBackwardReference(g, ref.indices(), x.shape()),
                    Pool.maxPool2dBackward(g, fast.indices(), x.shape()), 1e-6, 1e-6);

            Tensor avg = Pool.avgPool2d(x, c[4], c[5], c[6], c[7], c[8], c[9]);
            assertClose(Pool.avgPool2dReference(x, c[4], c[5], c[6], c[7], c[8], c[9]), avg, 1e-5, 1e-5);
            assertClose(Pool.avgPool2dBackwardReference(g, x.shape(), c[4], c[5], c[6], c[7], c[8], c[9]),
                    Pool.avgPool2dBackward(g, x.shape(), c[4], c[5], c[6], c[7], c[8], c[9]), 1e-6, 1e-6);
        }
    }

    @Test
    void twoByTwoFastPathKeepsTheReferenceWinner() {
        // Rows spanning several vectors, odd sizes (the last row and column unused), and few distinct values, so
        // that ties, signed zeros and NaNs decide many windows.
        int[][] shapes = {{2, 3, 6, 40}, {1, 2, 7, 33}, {3, 1, 4, 2}, {1, 1, 9, 71}, {2, 2, 3, 3}};
        for (int[] s : shapes) {
            Tensor x = Tensor.zeros(s);
            for (int i = 0; i < x.numel(); i++) {
                int r = rng.nextInt(5);
                x.storage().set(i, r == 0 ? Double.NaN : r == 1 ? -0.0 : r == 2 ? 0.0 : r);
            }
            Pool.MaxPoolResult fast = Pool.maxPool2d(x, 2, 2, 2, 2, 0, 0);
            Pool.MaxPoolResult ref = Pool.maxPool2dReference(x, 2, 2, 2, 2, 0, 0);
            assertEquals(ref.indices(), fast.indices(), java.util.Arrays.toString(s));
            float[] want = ref.out().toFloatArray();
            float[] got = fast.out().toFloatArray();
            for (int i = 0; i < want.length; i++) assertEquals(0, Float.compare(want[i], got[i]), "output " + i);
        }
    }

    @Test
    void fastPathAcceptsStridedViews() {
        Tensor x = randn(rng, 2, 6, 3, 5).permute(0, 2, 1, 3); // [2, 3, 6, 5]
        assertClose(Pool.maxPool2dReference(x.copy(), 3, 3, 2, 1, 1, 1).out(), Pool.maxPool2d(x, 3, 3, 2, 1, 1, 1).out(),
                0, 0);
        assertClose(Pool.avgPool2dReference(x.copy(), 3, 3, 2, 1, 1, 1), Pool.avgPool2d(x, 3, 3, 2, 1, 1, 1), 1e-6, 1e-6);
        Tensor g = randn(rng, 2, 5, 3, 3).permute(0, 3, 2, 1); // [2, 3, 3, 5]
        assertClose(Pool.avgPool2dBackwardReference(g.copy(), x.shape(), 3, 3, 2, 1, 1, 1),
                Pool.avgPool2dBackward(g, x.shape(), 3, 3, 2, 1, 1, 1), 1e-6, 1e-6);
    }

    @Test
    void averageOfAConstantCountsPadding() {
        Tensor x = Tensor.full(2f, 1, 2, 4, 4);
        Tensor out = Pool.avgPool2d(x, 3, 3, 1, 1, 1, 1);
        // Interior windows see nine 2s; a corner window sees four 2s and five padding zeros, divided by 9.
        assertEquals(2f, out.get(0, 1, 1, 2), 1e-6);
        assertEquals(2f * 4 / 9, out.get(0, 0, 0, 0), 1e-6);
        assertEquals(2f * 6 / 9, out.get(0, 0, 0, 1), 1e-6);
        assertClose(Pool.avgPool2dReference(x, 3, 3, 1, 1, 1, 1), out, 1e-6, 1e-6);
        // Without padding every window is full: the constant itself.
        assertClose(Tensor.full(2f, 1, 2, 2, 2), Pool.avgPool2d(x, 2, 2, 2, 2, 0, 0), 0, 0);
    }

    @Test
    void maxPoolTreatsPaddingAsMinusInfinity() {
        Tensor x = Tensor.full(-3f, 1, 1, 2, 2);
        x.set(-1, 0, 0, 1, 1);
        Pool.MaxPoolResult r = Pool.maxPool2d(x, 2, 2, 1, 1, 1, 1);
        // Each of the 3x3 windows holds real elements only; padding zeros would have won otherwise.
        assertArrayEquals(new float[] {-3, -3, -3, -3, -1, -1, -3, -1, -1}, r.out().toFloatArray());
    }

    @Test
    void maxPoolGradientGoesToTheFirstMaximumOnTies() {
        Tensor x = Tensor.of(new float[] {5, 5, 1, 5, 5, 1, 0, 0, 9}, 1, 1, 3, 3);
        Pool.MaxPoolResult r = Pool.maxPool2d(x, 2, 2, 1, 1, 0, 0);
        assertArrayEquals(new float[] {5, 5, 5, 9}, r.out().toFloatArray());
        assertEquals(new IntTensor(new int[] {0, 1, 3, 8}, new int[] {1, 1, 2, 2}), r.indices());
        assertEquals(r.indices(), Pool.maxPool2dReference(x, 2, 2, 1, 1, 0, 0).indices());
        Tensor gx = Pool.maxPool2dBackward(Tensor.of(new float[] {1, 10, 100, 1000}, 1, 1, 2, 2), r.indices(), x.shape());
        assertArrayEquals(new float[] {1, 10, 0, 100, 0, 0, 0, 0, 1000}, gx.toFloatArray());
    }

    @Test
    void misuseNamesTheOpAndShapes() {
        Tensor x = Tensor.zeros(1, 2, 4, 4);
        var tooLarge = assertThrows(ShapeException.class, () -> Pool.maxPool2d(x, 7, 7, 1, 1, 1, 1));
        assertTrue(tooLarge.getMessage().startsWith("maxPool2d:") && tooLarge.getMessage().contains("[1, 2, 4, 4]")
                && tooLarge.getMessage().contains("larger than the padded"), tooLarge.getMessage());
        var pad = assertThrows(ShapeException.class, () -> Pool.avgPool2d(x, 2, 2, 1, 1, 2, 0));
        assertTrue(pad.getMessage().startsWith("avgPool2d:") && pad.getMessage().contains("half the kernel"),
                pad.getMessage());
        var rank = assertThrows(ShapeException.class, () -> Pool.avgPool2d(Tensor.zeros(4, 4), 2, 2, 1, 1, 0, 0));
        assertTrue(rank.getMessage().contains("avgPool2d") && rank.getMessage().contains("[4, 4]"), rank.getMessage());
        var stride = assertThrows(ShapeException.class, () -> Pool.maxPool2d(x, 2, 2, 1, 0, 0, 0));
        assertTrue(stride.getMessage().contains("stride"), stride.getMessage());
    }
}
