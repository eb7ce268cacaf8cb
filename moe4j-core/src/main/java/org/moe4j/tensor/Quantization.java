package org.moe4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.moe4j.common.Moe4jException;

/**
 * Reference conversions between float32 rows and the {@link QuantFormat}s, bit-exact with ggml's reference
 * quantizers ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}) and its f16/bf16 rounding, so that a
 * file we write matches one llama.cpp's tools would write from the same floats. The formats moe4j only reads
 * (Q4_1, Q5_x, K-quants) are decoded bit-exactly as ggml's {@code dequantize_row_*} ({@link GgmlBlocks}). All data is
 * little-endian.
 */
public final class Quantization {
    public static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int QK = 32; // values per block of Q8_0 and Q4_0

    private Quantization() {}

    /**
     * Encodes {@code n} values of {@code src} from {@code srcOff} into {@code dst} at byte {@code dstOff}; only the
     * formats that {@link QuantFormat#canQuantize()}.
     */
    public static void quantizeRow(QuantFormat format, float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        checkWhole(format, n);
        if (!format.canQuantize()) {
            throw new Moe4jException("quantize: moe4j reads " + format + " but does not write it; write F32, F16, BF16,"
                    + " Q8_0 or Q4_0");
        }
        switch (format) {
            case F32 -> MemorySegment.copy(src, srcOff, dst, F32_LE, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) dst.set(I16_LE, dstOff + 2L * i, Float16s.toF16(src[srcOff + i]));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) dst.set(I16_LE, dstOff + 2L * i, Float16s.toBf16(src[srcOff + i]));
            }
            case Q8_0 -> {
                for (int b = 0; b < n / QK; b++) quantizeQ8Block(src, srcOff + b * QK, dst, dstOff + 34L * b);
            }
            case Q4_0 -> {
                for (int b = 0; b < n / QK; b++) quantizeQ4Block(src, srcOff + b * QK, dst, dstOff + 18L * b);
            }
            default -> throw new AssertionError(format);
        }
    }

    /** Decodes {@code n} values from {@code src} at byte {@code srcOff} into {@code dst} from {@code dstOff}. */
    public static void dequantizeRow(QuantFormat format, MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkWhole(format, n);
        switch (format) {
            case F32 -> MemorySegment.copy(src, F32_LE, srcOff, dst, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = Float16s.fromF16(src.get(I16_LE, srcOff + 2L * i));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = Float16s.fromBf16(src.get(I16_LE, srcOff + 2L * i));
            }
            case Q8_0 -> {
                for (int b = 0; b < n / QK; b++) {
                    long at = srcOff + 34L * b;
                    float d = Float16s.fromF16(src.get(I16_LE, at));
                    for (int j = 0; j < QK; j++) dst[dstOff + b * QK + j] = src.get(ValueLayout.JAVA_BYTE, at + 2 + j) * d;
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / QK; b++) {
                    long at = srcOff + 18L * b;
                    float d = Float16s.fromF16(src.get(I16_LE, at));
                    int o = dstOff + b * QK;
                    for (int j = 0; j < QK / 2; j++) {
                        int packed = src.get(ValueLayout.JAVA_BYTE, at + 2 + j) & 0xff;
                        dst[o + j] = ((packed & 0x0f) - 8) * d;
                        dst[o + j + QK / 2] = ((packed >>> 4) - 8) * d;
                    }
                }
            }
            default -> GgmlBlocks.decode(format, src, srcOff, dst, dstOff, n);
        }
    }

    /**
     * {@code n} values (whole super-blocks) of a Q3_K, Q4_K, Q5_K or Q6_K row at {@code srcOff} as integer levels
     * (from {@code levelOff}) and float factors (from {@code factorOff}, two per 32 values), the form a kernel can
     * keep tiled: for Q4_K and Q5_K, value i is {@code factors[2 (i / 32)] * levels[i] - factors[2 (i / 32) + 1]};
     * for Q3_K and Q6_K, {@code factors[i / 16] * levels[i]}. Both give {@link #dequantizeRow}'s values bit for
     * bit.
     */
    public static void kQuantLevels(QuantFormat format, MemorySegment src, long srcOff, int n, byte[] levels,
            int levelOff, float[] factors, int factorOff) {
        if (!format.isKQuant() || format == QuantFormat.Q2_K) {
            throw new IllegalArgumentException(format + " has no level form; it is Q3_K, Q4_K, Q5_K or Q6_K");
        }
        checkWhole(format, n);
        byte[] b = new byte[format.blockBytes()];
        for (int blk = 0; blk < n / format.blockSize(); blk++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) blk * b.length, b, 0, b.length);
            GgmlBlocks.levels(format, b, levels, levelOff + blk * format.blockSize(), factors, factorOff + blk * 16);
        }
    }

    /** d = max|x| / 127, q = round-half-away(x / d) (ggml multiplies by the float reciprocal, and so do we). */
    private static void quantizeQ8Block(float[] x, int o, MemorySegment dst, long at) {
        float amax = 0;
        for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[o + j]));
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        dst.set(I16_LE, at, Float16s.toF16(d));
        for (int j = 0; j < QK; j++) dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) roundHalfAway(x[o + j] * id));
    }

    /**
     * d = -m / 8 where m is the first value of largest magnitude (so m maps to -8, the nibble 0), q = trunc(x / d +
     * 8.5) capped at 15. The sum is formed from the exact product, as gguf-py does and as C computes it when the
     * compiler fuses the multiply-add.
     */
    private static void quantizeQ4Block(float[] x, int o, MemorySegment dst, long at) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < QK; j++) {
            float v = x[o + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        dst.set(I16_LE, at, Float16s.toF16(d));
        for (int j = 0; j < QK / 2; j++) {
            int lo = Math.min(15, (int) (float) ((double) x[o + j] * id + 8.5));
            int hi = Math.min(15, (int) (float) ((double) x[o + j + QK / 2] * id + 8.5));
            dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (lo | (hi << 4)));
        }
    }

    /** C's roundf: halves round away from zero; exact for every float (no {@code + 0.5} rounding error). */
    static float roundHalfAway(float v) {
        float a = Math.abs(v);
        float floor = (float) Math.floor(a);
        float r = floor + (float) Math.floor(2 * (a - floor));
        return Math.copySign(r, v);
    }

    private static void checkWhole(QuantFormat format, int n) {
        if (n < 0 || n % format.blockSize() != 0) {
            throw new IllegalArgumentException(n + " values are not a whole number of " + format + " blocks of "
                    + format.blockSize());
        }
    }
}
