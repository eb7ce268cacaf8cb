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
import org.moe4j.tensor.Tensor;

class ConvTest {
    /** {N, C, H, W, O, kh, kw, strideH, strideW, padH, padW}: odd sizes, strides, padding, 1x1 and full kernels. */
    private static final int[][] CASES = {
        {2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1},
        {3, 2, 8, 5, 4, 3, 2, 2, 1, 1, 0},
        {1, 4, 6, 6, 3, 1, 1, 1, 1, 0, 0}, // 1x1, stride 1, no padding: the direct path without im2col
        {2, 1, 5, 5, 2, 5, 5, 1, 1, 0, 0}, // kernel as large as the input
        {2, 3, 9, 7, 17, 4, 3, 2, 3, 2, 1},
        {5, 3, 4, 4, 2, 2, 2, 2, 2, 1, 1},
        {1, 2, 3, 3, 3, 1, 1, 2, 2, 0, 0}, // 1x1 with stride: goes through im2col
        {2, 2, 1, 1, 3, 3, 3, 1, 1, 1, 1}, // every tap but the centre falls in padding
        // Stride 1 goes straight through the padded image: channel and tap counts off the tile sizes (8 and 12
        // channels, 12 taps), tiles of virtual pixels straddling rows, asymmetric kernels and padding.
        {3, 5, 13, 11, 20, 3, 3, 1, 1, 1, 1},
        {2, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1}, // the Fashion-MNIST first layer
        {2, 3, 6, 9, 7, 2, 3, 1, 1, 1, 0},
        {2, 2, 4, 4, 3, 1, 1, 1, 1, 1, 1}, // padding larger than kernel - 1: the input gradient falls back
        {1, 33, 5, 6, 35, 3, 3, 1, 1, 0, 2},
    };

    private final Rng rng = new Rng(7);

    @Test
    void fastMatchesReferenceForwardAndBackward() {
        for (int[] c : CASES) {
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]);
            Tensor w = randn(rng, c[4], c[1], c[5], c[6]);
            Tensor b = randn(rng, c[4]);
            Tensor out = Conv.conv2d(x, w, b, c[7], c[8], c[9], c[10]);
            assertClose(Conv.conv2dReference(x, w, b, c[7], c[8], c[9], c[10]), out, 1e-4, 1e-4);
            assertClose(Conv.conv2dReference(x, w, null, c[7], c[8], c[9], c[10]),
                    Conv.conv2d(x, w, null, c[7], c[8], c[9], c[10]), 1e-4, 1e-4);

            Tensor g = randn(rng, out.shape());
            assertClose(Conv.conv2dBackwardInputReference(g, w, x.shape(), c[7], c[8], c[9], c[10]),
                    Conv.conv2dBackwardInput(g, w, x.shape(), c[7], c[8], c[9], c[10]), 1e-4, 1e-4);
            assertClose(Conv.conv2dBackwardWeightReference(g, x, w.shape(), c[7], c[8], c[9], c[10]),
                    Conv.conv2dBackwardWeight(g, x, w.shape(), c[7], c[8], c[9], c[10]), 1e-4, 1e-4);
            assertClose(Conv.conv2dBackwardBiasReference(g), Conv.conv2dBackwardBias(g), 1e-4, 1e-4);
        }
    }

    @Test
    void fastPathAcceptsStridedViews() {
        // x [2, 3, 5, 6] seen through a permute of a [2, 5, 3, 6] tensor; w through a transpose.
        Tensor x = randn(rng, 2, 5, 3, 6).permute(0, 2, 1, 3);
        Tensor w = randn(rng, 3, 4, 3, 3).transpose(0, 1);
        Tensor b = randn(rng, 8).slice(0, 0, 8, 2);
        Tensor out = Conv.conv2d(x, w, b, 2, 1, 1, 1);
        assertArrayEquals(new int[] {2, 4, 3, 6}, out.shape());
        assertClose(Conv.conv2dReference(x.copy(), w.copy(), b.copy(), 2, 1, 1, 1), out, 1e-4, 1e-4);
        Tensor g = randn(rng, 2, 6, 3, 4).permute(0, 3, 2, 1); // [2, 4, 3, 6], not contiguous
        assertClose(Conv.conv2dBackwardInputReference(g.copy(), w.copy(), x.shape(), 2, 1, 1, 1),
                Conv.conv2dBackwardInput(g, w, x.shape(), 2, 1, 1, 1), 1e-4, 1e-4);
        assertClose(Conv.conv2dBackwardWeightReference(g.copy(), x.copy(), w.shape(), 2, 1, 1, 1),
                Conv.conv2dBackwardWeight(g, x, w.shape(), 2, 1, 1, 1), 1e-4, 1e-4);
        assertClose(Conv.conv2dBackwardBiasReference(g.copy()), Conv.conv2dBackwardBias(g), 1e-4, 1e-4);
    }

    @Test
    void handComputedValue() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
        Tensor w = Tensor.full(1f, 1, 1, 2, 2);
        Tensor out = Conv.conv2d(x, w, Tensor.of(new float[] {0.5f}, 1), 1, 1, 0, 0);
        assertArrayEquals(new float[] {12.5f, 16.5f, 24.5f, 28.5f}, out.toFloatArray());
        // Padding 1, stride 2: the windows cover 1, 2 or 4 input elements.
        Tensor padded = Conv.conv2d(x, w, null, 2, 2, 1, 1);
        assertArrayEquals(new float[] {1, 2 + 3, 4 + 7, 5 + 6 + 8 + 9}, padded.toFloatArray());
    }

    @Test
    void deltaKernelIsIdentityAndShift() {
        Tensor x = randn(rng, 2, 3, 5, 7);
        Tensor identity = Tensor.zeros(3, 3, 3, 3);
        for (int c = 0; c < 3; c++) identity.set(1, c, c, 1, 1);
        assertClose(x, Conv.conv2d(x, identity, null, 1, 1, 1, 1), 0, 0);
        assertClose(x, Conv.conv2dReference(x, identity, null, 1, 1, 1, 1), 0, 0);

        // A tap at (1, 2) reads one column to the right: out[y][z] = x[y][z+1], zero in the last column.
        Tensor shift = Tensor.zeros(3, 3, 3, 3);
        for (int c = 0; c < 3; c++) shift.set(1, c, c, 1, 2);
        Tensor out = Conv.conv2d(x, shift, null, 1, 1, 1, 1);
        for (int n = 0; n < 2; n++) {
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < 5; y++) {
                    for (int z = 0; z < 7; z++) {
                        float want = z + 1 < 7 ? x.get(n, c, y, z + 1) : 0f;
                        assertEquals(want, out.get(n, c, y, z));
                    }
                }
            }
        }
    }

    @Test
    void deterministicAcrossCalls() {
        Tensor x = randn(rng, 6, 3, 9, 9);
        Tensor w = randn(rng, 4, 3, 3, 3);
        Tensor g = randn(rng, 6, 4, 9, 9);
        assertArrayEquals(Conv.conv2d(x, w, null, 1, 1, 1, 1).toFloatArray(),
                Conv.conv2d(x, w, null, 1, 1, 1, 1).toFloatArray());
        assertArrayEquals(Conv.conv2dBackwardWeight(g, x, w.shape(), 1, 1, 1, 1).toFloatArray(),
                Conv.conv2dBackwardWeight(g, x, w.shape(), 1, 1, 1, 1).toFloatArray());
    }

    @Test
    void misuseNamesTheOpAndShapes() {
        Tensor x = Tensor.zeros(1, 3, 5, 5);
        var channels = assertThrows(ShapeException.class, () -> Conv.conv2d(x, Tensor.zeros(2, 4, 3, 3), null, 1, 1, 0, 0));
        assertTrue(channels.getMessage().startsWith("conv2d:"), channels.getMessage());
        assertTrue(channels.getMessage().contains("[1, 3, 5, 5]") && channels.getMessage().contains("[2, 4, 3, 3]"),
                channels.getMessage());

        var tooLarge = assertThrows(ShapeException.class, () -> Conv.conv2d(x, Tensor.zeros(2, 3, 8, 3), null, 1, 1, 1, 1));
        assertTrue(tooLarge.getMessage().contains("conv2d") && tooLarge.getMessage().contains("larger than the padded"),
                tooLarge.getMessage());
        assertTrue(tooLarge.getMessage().contains("[2, 3, 8, 3]"), tooLarge.getMessage());

        var bias = assertThrows(ShapeException.class,
                () -> Conv.conv2d(x, Tensor.zeros(2, 3, 3, 3), Tensor.zeros(3), 1, 1, 0, 0));
        assertTrue(bias.getMessage().contains("bias") && bias.getMessage().contains("[3]"), bias.getMessage());

        var stride = assertThrows(ShapeException.class, () -> Conv.conv2d(x, Tensor.zeros(2, 3, 3, 3), null, 0, 1, 0, 0));
        assertTrue(stride.getMessage().contains("conv2d") && stride.getMessage().contains("stride"), stride.getMessage());

        var rank = assertThrows(ShapeException.class, () -> Conv.conv2d(Tensor.zeros(3, 5, 5), Tensor.zeros(2, 3, 3, 3),
                null, 1, 1, 0, 0));
        assertTrue(rank.getMessage().contains("conv2d") && rank.getMessage().contains("[3, 5, 5]"), rank.getMessage());

        var grad = assertThrows(ShapeException.class,
                () -> Conv.conv2dBackwardInput(Tensor.zeros(1, 2, 4, 4), Tensor.zeros(2, 3, 3, 3), x.shape(), 1, 1, 0, 0));
        assertTrue(grad.getMessage().contains("conv2d") && grad.getMessage().contains("[1, 2, 3, 3]"), grad.getMessage());
    }
}
