package org.moe4j.io.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * A metadata array: elements of one GGUF type, held as a primitive array: {@code long[]} for every integer type,
 * {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]}, or {@code GgufArray[]} for nested arrays.
 * The arrays are the array's own (not copied on the way in or out): treat them as read-only.
 */
public final class GgufArray {
    private final GgufValueType elementType;
    private final Object values;

    public GgufArray(GgufValueType elementType, Object values) {
        this.elementType = Objects.requireNonNull(elementType, "elementType");
        this.values = Objects.requireNonNull(values, "values");
        boolean ok = switch (elementType) {
            case FLOAT32 -> values instanceof float[];
            case FLOAT64 -> values instanceof double[];
            case BOOL -> values instanceof boolean[];
            case STRING -> values instanceof String[] s && Arrays.stream(s).allMatch(Objects::nonNull);
            case ARRAY -> values instanceof GgufArray[] a && Arrays.stream(a).allMatch(Objects::nonNull);
            default -> values instanceof long[] l && Arrays.stream(l).allMatch(v -> fits(elementType, v));
        };
        if (!ok) throw new IllegalArgumentException("not an array of GGUF " + elementType + ": " + values);
    }

    public static GgufArray ofStrings(String... s) {
        return new GgufArray(GgufValueType.STRING, s);
    }

    public static GgufArray ofFloats(float... f) {
        return new GgufArray(GgufValueType.FLOAT32, f);
    }

    public static GgufArray ofInts(int... v) {
        return new GgufArray(GgufValueType.INT32, Arrays.stream(v).asLongStream().toArray());
    }

    public GgufValueType elementType() {
        return elementType;
    }

    /** The backing array (see the class comment for its Java type). */
    public Object values() {
        return values;
    }

    public int length() {
        return switch (values) {
            case long[] a -> a.length;
            case float[] a -> a.length;
            case double[] a -> a.length;
            case boolean[] a -> a.length;
            case Object[] a -> a.length;
            default -> throw new IllegalStateException();
        };
    }

    public long[] longs() {
        return (long[]) values;
    }

    public float[] floats() {
        return (float[]) values;
    }

    public String[] strings() {
        return (String[]) values;
    }

    /** Whether integer {@code v} is in range for {@code type} (UINT64 holds any 64 bits). */
    static boolean fits(GgufValueType type, long v) {
        return switch (type) {
            case UINT8 -> v >= 0 && v <= 0xff;
            case INT8 -> v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE;
            case UINT16 -> v >= 0 && v <= 0xffff;
            case INT16 -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case UINT32 -> v >= 0 && v <= 0xffffffffL;
            case INT32 -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            case UINT64, INT64 -> true;
            default -> false;
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray a && elementType == a.elementType
                && Arrays.deepEquals(new Object[] {values}, new Object[] {a.values});
    }

    @Override
    public int hashCode() {
        return elementType.hashCode() * 31 + Arrays.deepHashCode(new Object[] {values});
    }

    @Override
    public String toString() {
        int n = length();
        return "array<" + elementType + ">[" + n + "]";
    }
}
