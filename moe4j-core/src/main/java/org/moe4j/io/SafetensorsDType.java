package org.moe4j.io;

/**
 * The element types a safetensors header may name, with their sizes. All are recognised (so a file's layout can
 * be checked whatever it holds); {@link #readable()} says which ones convert to a {@code Tensor}.
 */
public enum SafetensorsDType {
    BOOL(1),
    U8(1),
    I8(1),
    F8_E5M2(1),
    F8_E4M3(1),
    I16(2),
    U16(2),
    F16(2),
    BF16(2),
    I32(4),
    U32(4),
    F32(4),
    I64(8),
    U64(8),
    F64(8);

    private final int bytes;

    SafetensorsDType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** Whether moe4j reads this type into a tensor: the float types F64, F32, F16 and BF16. */
    public boolean readable() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** The type a header spells {@code name}, or null when the name is unknown. */
    static SafetensorsDType byName(String name) {
        for (SafetensorsDType t : values()) {
            if (t.name().equals(name)) return t;
        }
        return null;
    }
}
