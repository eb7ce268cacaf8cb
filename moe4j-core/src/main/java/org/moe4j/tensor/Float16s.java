package org.moe4j.tensor;

/**
 * The two 16-bit float formats of model files (IEEE binary16 and bfloat16), to and from float32. Rounding is to
 * nearest, ties to even, as ggml and PyTorch round; widening is exact.
 */
public final class Float16s {
    private Float16s() {}

    /** bfloat16 is the top half of a float32, so widening is exact. */
    public static float fromBf16(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Rounds to the nearest bfloat16, ties to even; NaN stays a (quiet) NaN with its sign, overflow becomes inf. */
    public static short toBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) return (short) ((bits >>> 16) | 0x0040);
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7fff + lsb) >>> 16);
    }

    public static float fromF16(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** IEEE binary16, round to nearest even (the JDK's conversion). */
    public static short toF16(float value) {
        return Float.floatToFloat16(value);
    }
}
