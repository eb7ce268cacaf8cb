package org.moe4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Decoders for the ggml block formats moe4j reads but does not write (Q4_1, Q5_0, Q5_1 and the K-quants Q2_K to
 * Q6_K), written from the block layouts of ggml's {@code ggml-common.h} and bit-exact with its {@code
 * dequantize_row_*}: each value is formed by the same float operations in the same order (e.g. Q4_K's {@code (d *
 * sc) * q - dmin * m}, Q6_K's {@code (d * sc) * q}), checked against ggml's own output in QuantizationGoldenTest.
 */
final class GgmlBlocks {
    private static final int QK = 32; // values per legacy block
    private static final int QK_K = 256; // values per K-quant super-block

    private GgmlBlocks() {}

    /** Decodes {@code n} values (whole blocks) of {@code format} from {@code src} at {@code srcOff}. */
    static void decode(QuantFormat format, MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        byte[] b = new byte[format.blockBytes()];
        byte[] levels = new byte[QK_K];
        float[] factors = new float[QK_K / 16];
        for (int blk = 0; blk < n / format.blockSize(); blk++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) blk * b.length, b, 0, b.length);
            int o = dstOff + blk * format.blockSize();
            switch (format) {
                case Q4_1 -> q4_1(b, dst, o);
                case Q5_0 -> q5(b, false, dst, o);
                case Q5_1 -> q5(b, true, dst, o);
                case Q2_K -> q2k(b, dst, o);
                case Q3_K, Q4_K, Q5_K, Q6_K -> {
                    levels(format, b, levels, 0, factors, 0);
                    values(format, levels, factors, dst, o);
                }
                default -> throw new IllegalArgumentException(format + " is not a ggml block format decoded here");
            }
        }
    }

    /** d, m, qs[16]: value j = (qs[j] & 15) * d + m, value j + 16 = (qs[j] >> 4) * d + m. */
    private static void q4_1(byte[] b, float[] y, int o) {
        float d = f16(b, 0), m = f16(b, 2);
        for (int j = 0; j < QK / 2; j++) {
            int q = b[4 + j] & 0xff;
            y[o + j] = (q & 0x0f) * d + m;
            y[o + j + QK / 2] = (q >>> 4) * d + m;
        }
    }

    /** Q5_0 (d, qh, qs[16]; q - 16 times d) and Q5_1 (d, m, qh, qs[16]; q * d + m); qh bit j is value j's fifth bit. */
    private static void q5(byte[] b, boolean withMin, float[] y, int o) {
        float d = f16(b, 0);
        float m = withMin ? f16(b, 2) : 0;
        int at = withMin ? 4 : 2;
        int qh = u8(b, at) | u8(b, at + 1) << 8 | u8(b, at + 2) << 16 | u8(b, at + 3) << 24;
        for (int j = 0; j < QK / 2; j++) {
            int q = u8(b, at + 4 + j);
            int lo = (q & 0x0f) | ((qh >>> j) & 1) << 4;
            int hi = (q >>> 4) | ((qh >>> (j + 16)) & 1) << 4;
            if (withMin) {
                y[o + j] = lo * d + m;
                y[o + j + QK / 2] = hi * d + m;
            } else {
                y[o + j] = (lo - 16) * d;
                y[o + j + QK / 2] = (hi - 16) * d;
            }
        }
    }

    /**
     * scales[16] (low nibble scale, high nibble min), qs[64], d, dmin. Each half of 128 values takes 32 bytes of qs;
     * its four 2-bit planes are groups of 32, each two groups of 16 with their own scale byte.
     */
    private static void q2k(byte[] b, float[] y, int o) {
        float d = f16(b, 80), min = f16(b, 82);
        int is = 0;
        for (int half = 0; half < 2; half++) {
            int q = 16 + 32 * half;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int sub = 0; sub < 2; sub++) {
                    int sc = u8(b, is++);
                    float dl = d * (sc & 0x0f);
                    float ml = min * (sc >>> 4);
                    for (int l = 0; l < 16; l++) y[o++] = dl * ((u8(b, q + 16 * sub + l) >>> shift) & 3) - ml;
                }
            }
        }
    }

    /**
     * A super-block's 256 values from its {@link #levels} form: for Q4_K and Q5_K {@code (d * sc) * q - dmin * m}
     * with the factors of each 32 values; for Q3_K and Q6_K {@code (d * sc) * q} with the factor of each 16.
     */
    private static void values(QuantFormat format, byte[] levels, float[] factors, float[] y, int o) {
        if (format == QuantFormat.Q4_K || format == QuantFormat.Q5_K) {
            for (int i = 0; i < QK_K; i++) y[o + i] = factors[i / 32 * 2] * levels[i] - factors[i / 32 * 2 + 1];
        } else {
            for (int i = 0; i < QK_K; i++) y[o + i] = factors[i / 16] * levels[i];
        }
    }

    /**
     * One Q3_K, Q4_K, Q5_K or Q6_K super-block {@code b} as integer levels (256, from {@code lo}) and float factors (16,
     * from {@code fo}), two per 32 values: for Q4_K and Q5_K a 32-value block's {@code d * sc} and {@code dmin * m},
     * so value i is {@code factors[2 (i / 32)] * q - factors[2 (i / 32) + 1]}; for Q3_K and Q6_K each 16 values'
     * {@code d * sc}, so value i is {@code factors[i / 16] * q}. Each factor is ggml's own float product (exact: an f16 times a
     * 6- or 8-bit integer), so these give its values bit for bit.
     */
    static void levels(QuantFormat format, byte[] b, byte[] levels, int lo, float[] factors, int fo) {
        if (format == QuantFormat.Q3_K) {
            // hmask[32], qs[64], scales[12], d. The 16 scales are 6-bit: low nibbles from scales[0..7], high 2-bit
            // pairs from scales[8..11]; minus 32. A value is 2 bits of qs minus 4 when its hmask bit is clear; the
            // values come in runs of 16 (half, shift, sub), each with the next scale.
            float d = f16(b, 108);
            for (int k = 0; k < 4; k++) {
                int lo0 = u8(b, 96 + k), lo1 = u8(b, 100 + k), hi = u8(b, 104 + k);
                factors[fo + k] = d * (((lo0 & 0x0f) | (hi & 3) << 4) - 32);
                factors[fo + 4 + k] = d * (((lo1 & 0x0f) | ((hi >>> 2) & 3) << 4) - 32);
                factors[fo + 8 + k] = d * (((lo0 >>> 4) | ((hi >>> 4) & 3) << 4) - 32);
                factors[fo + 12 + k] = d * (((lo1 >>> 4) | ((hi >>> 6) & 3) << 4) - 32);
            }
            int out = lo, mask = 1;
            for (int half = 0; half < 2; half++) {
                int q = 32 + 32 * half;
                for (int shift = 0; shift < 8; shift += 2, mask <<= 1) {
                    for (int l = 0; l < 32; l++) {
                        levels[out++] = (byte) (((u8(b, q + l) >>> shift) & 3) - ((u8(b, l) & mask) != 0 ? 0 : 4));
                    }
                }
            }
            return;
        }
        if (format == QuantFormat.Q6_K) {
            // ql[128], qh[64], scales[16] (int8), d. Half h: 64 bytes of ql, 32 of qh; value l + 32k (k = 0..3) takes
            // a nibble of ql[l] or ql[l + 32] and bits 2k, 2k + 1 of qh[l], minus 32. Its scale is scales[8h + 2k +
            // l / 16], which is (value index) / 16.
            float d = f16(b, 208);
            for (int half = 0; half < 2; half++) {
                int ql = 64 * half, qh = 128 + 32 * half, out = lo + 128 * half;
                for (int l = 0; l < 32; l++) {
                    int h = u8(b, qh + l);
                    levels[out + l] = (byte) (((u8(b, ql + l) & 0x0f) | (h & 3) << 4) - 32);
                    levels[out + l + 32] = (byte) (((u8(b, ql + l + 32) & 0x0f) | ((h >>> 2) & 3) << 4) - 32);
                    levels[out + l + 64] = (byte) (((u8(b, ql + l) >>> 4) | ((h >>> 4) & 3) << 4) - 32);
                    levels[out + l + 96] = (byte) (((u8(b, ql + l + 32) >>> 4) | ((h >>> 6) & 3) << 4) - 32);
                }
            }
            for (int c = 0; c < 16; c++) factors[fo + c] = d * b[192 + c];
            return;
        }
        // Q4_K: d, dmin, scales[12], qs[128]; Q5_K adds qh[32] before qs. Four chunks of 64 values, each 32 bytes of
        // qs (low nibbles the first 32 values, high the next) with two 6-bit (scale, min) pairs; Q5_K's fifth bit of
        // value l in chunk c is bit 2c (first 32) or 2c + 1 (next 32) of qh[l].
        boolean fifth = format == QuantFormat.Q5_K;
        float d = f16(b, 0), min = f16(b, 2);
        int qs = fifth ? 48 : 16;
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int low = u8(b, qs + 32 * c + l) & 0x0f, high = u8(b, qs + 32 * c + l) >>> 4;
                if (fifth) {
                    low += (u8(b, 16 + l) >>> (2 * c) & 1) << 4;
                    high += (u8(b, 16 + l) >>> (2 * c + 1) & 1) << 4;
                }
                levels[lo + 64 * c + l] = (byte) low;
                levels[lo + 64 * c + 32 + l] = (byte) high;
            }
        }
        for (int j = 0; j < 8; j++) {
            factors[fo + 2 * j] = d * scaleK4(b, j);
            factors[fo + 2 * j + 1] = min * minK4(b, j);
        }
    }

    /** Scale j (0-7) of a Q4_K/Q5_K block: scales at byte 4; j < 4 low 6 bits, else a nibble plus 2 high bits. */
    private static int scaleK4(byte[] b, int j) {
        return j < 4 ? u8(b, 4 + j) & 63 : (u8(b, 4 + j + 4) & 0x0f) | (u8(b, 4 + j - 4) >>> 6) << 4;
    }

    /** Min j (0-7) of a Q4_K/Q5_K block. */
    private static int minK4(byte[] b, int j) {
        return j < 4 ? u8(b, 4 + j + 4) & 63 : (u8(b, 4 + j + 4) >>> 4) | (u8(b, 4 + j) >>> 6) << 4;
    }

    private static int u8(byte[] b, int i) {
        return b[i] & 0xff;
    }

    private static float f16(byte[] b, int i) {
        return Float16s.fromF16((short) (u8(b, i) | u8(b, i + 1) << 8));
    }
}
