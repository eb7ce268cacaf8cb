package org.moe4j.io;

import org.moe4j.tensor.Float16s;

/** The two 16-bit float formats of model files, to and from float32 (the conversions live in {@link Float16s}). */
final class HalfFloats {
    private HalfFloats() {}

    static float fromBf16(short bits) {
        return Float16s.fromBf16(bits);
    }

    static short toBf16(float value) {
        return Float16s.toBf16(value);
    }

    static float fromF16(short bits) {
        return Float16s.fromF16(bits);
    }

    static short toF16(float value) {
        return Float16s.toF16(value);
    }
}
