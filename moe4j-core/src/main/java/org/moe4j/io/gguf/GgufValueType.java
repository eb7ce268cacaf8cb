package org.moe4j.io.gguf;

/** The metadata value types of GGUF, by their number in the file, with the byte size of the fixed-size ones. */
public enum GgufValueType {
    UINT8(0, 1),
    INT8(1, 1),
    UINT16(2, 2),
    INT16(3, 2),
    UINT32(4, 4),
    INT32(5, 4),
    FLOAT32(6, 4),
    BOOL(7, 1),
    STRING(8, 8), // the smallest encoding: the u64 length of an empty string
    ARRAY(9, 12), // the smallest encoding: element type u32 and length u64 of an empty array
    UINT64(10, 8),
    INT64(11, 8),
    FLOAT64(12, 8);

    private static final GgufValueType[] BY_ID = values();

    private final int id;
    private final int minBytes;

    GgufValueType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    public int id() {
        return id;
    }

    /** Bytes of a value of this type: exact for numbers and bools, the least possible for strings and arrays. */
    public int minBytes() {
        return minBytes;
    }

    /** Whether values of this type are integers (held as a {@code long}). */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    /** The type numbered {@code id}, or null. */
    public static GgufValueType byId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }
}
