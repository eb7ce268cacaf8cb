package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;

/** The in-register transposes (16 and 8 lanes) against the scalar loop: offsets, strides, partial blocks. */
class GemmTransposeTest {
    @FunctionalInterface
    private interface Transpose {
        void apply(float[] src, int off, int ld, int rows, int depth, float[] dst, int dstOff, int stride);
    }

    private static void check(int lanes, boolean full, Transpose fast) {
        Rng rng = new Rng(lanes);
        for (int t = 0; t < 200; t++) {
            int rows = full ? lanes : rng.nextInt(lanes + 1);
            int depth = full ? lanes : 1 + rng.nextInt(lanes);
            int ld = depth + rng.nextInt(40);
            int off = rng.nextInt(5);
            float[] src = new float[off + lanes * ld + lanes];
            for (int i = 0; i < src.length; i++) src[i] = (float) rng.normal();
            int stride = lanes + rng.nextInt(3) * lanes;
            int dstOff = rng.nextInt(3);
            float[] want = new float[dstOff + lanes * stride + lanes];
            java.util.Arrays.fill(want, -7f); // what must stay untouched past depth
            float[] got = want.clone();
            GemmTranspose.scalar(lanes, src, off, ld, rows, depth, want, dstOff, stride);
            fast.apply(src, off, ld, rows, depth, got, dstOff, stride);
            assertArrayEquals(want, got, "rows=" + rows + " depth=" + depth + " ld=" + ld + " stride=" + stride);
        }
    }

    @Test
    void sixteenLanesMatchTheScalarLoop() {
        check(16, true, (src, off, ld, rows, depth, dst, dstOff, stride) ->
                GemmTranspose.full16(src, off, ld, dst, dstOff, stride));
    }

    @Test
    void eightLanesMatchTheScalarLoop() {
        check(8, true, (src, off, ld, rows, depth, dst, dstOff, stride) ->
                GemmTranspose.full8(src, off, ld, dst, dstOff, stride));
    }

    @Test
    void fullAndPartialBlocksMatchTheScalarLoopAtThisMachinesWidth() {
        check(Backend.FLOATS.length(), true, GemmTranspose::block);
        check(Backend.FLOATS.length(), false, GemmTranspose::block);
    }
}
