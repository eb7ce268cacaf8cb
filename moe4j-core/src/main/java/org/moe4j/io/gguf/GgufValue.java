package org.moe4j.io.gguf;

import java.util.Objects;

/**
 * One metadata value with its GGUF type. Integers of every width are held as a {@code long} (a UINT64 as its raw
 * 64 bits), FLOAT32 as {@code Float}, FLOAT64 as {@code Double}, BOOL as {@code Boolean}, STRING as {@code String}
 * and ARRAY as {@link GgufArray}; the type is kept so that a file is written back as it was read.
 */
public record GgufValue(GgufValueType type, Object value) {
    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        boolean ok = switch (type) {
            case FLOAT32 -> value instanceof Float;
            case FLOAT64 -> value instanceof Double;
            case BOOL -> value instanceof Boolean;
            case STRING -> value instanceof String;
            case ARRAY -> value instanceof GgufArray;
            default -> value instanceof Long l && GgufArray.fits(type, l);
        };
        if (!ok) throw new IllegalArgumentException("a GGUF " + type + " cannot hold " + value);
    }

    public static GgufValue ofString(String s) {
        return new GgufValue(GgufValueType.STRING, s);
    }

    public static GgufValue ofUint32(long v) {
        return new GgufValue(GgufValueType.UINT32, v);
    }

    public static GgufValue ofInt32(int v) {
        return new GgufValue(GgufValueType.INT32, (long) v);
    }

    public static GgufValue ofUint64(long v) {
        return new GgufValue(GgufValueType.UINT64, v);
    }

    /** An integer of any integer type (range-checked). */
    public static GgufValue ofInteger(GgufValueType type, long v) {
        return new GgufValue(type, v);
    }

    public static GgufValue ofFloat32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, v);
    }

    public static GgufValue ofFloat64(double v) {
        return new GgufValue(GgufValueType.FLOAT64, v);
    }

    public static GgufValue ofBool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, v);
    }

    public static GgufValue ofArray(GgufArray a) {
        return new GgufValue(GgufValueType.ARRAY, a);
    }

    /** The integer (any integer type); throws IllegalStateException for other types. */
    public long asLong() {
        if (value instanceof Long l) return l;
        throw new IllegalStateException("GGUF " + type + " value is not an integer");
    }

    /** A number of any type as a double (UINT64 above 2^63 is read unsigned). */
    public double asDouble() {
        if (type == GgufValueType.UINT64) return unsignedToDouble((Long) value);
        if (value instanceof Number n) return n.doubleValue();
        throw new IllegalStateException("GGUF " + type + " value is not a number");
    }

    public String asString() {
        if (value instanceof String s) return s;
        throw new IllegalStateException("GGUF " + type + " value is not a string");
    }

    public boolean asBool() {
        if (value instanceof Boolean b) return b;
        throw new IllegalStateException("GGUF " + type + " value is not a bool");
    }

    public GgufArray asArray() {
        if (value instanceof GgufArray a) return a;
        throw new IllegalStateException("GGUF " + type + " value is not an array");
    }

    private static double unsignedToDouble(long v) {
        return v >= 0 ? v : (double) (v >>> 1) * 2.0 + (v & 1);
    }

    @Override
    public String toString() {
        return type + " " + (type == GgufValueType.UINT64 ? Long.toUnsignedString((Long) value) : value);
    }
}
