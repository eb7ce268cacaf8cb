package org.moe4j.io.gguf;

import org.moe4j.tensor.QuantFormat;

/**
 * The tensor types a GGUF file may name, by ggml's numbering, with their block layout (values per block, bytes per
 * block). All are recognised so that any file's layout can be checked; {@link #format()} says which ones moe4j
 * reads.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q8_1(9, 32, 36),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 256, 292),
    IQ2_XXS(16, 256, 66),
    IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 256, 110),
    IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 56),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66),
    MXFP4(39, 32, 17);

    private static final GgmlType[] BY_ID = new GgmlType[40];

    static {
        for (GgmlType t : values()) BY_ID[t.id] = t;
    }

    private final int id;
    private final int blockSize;
    private final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** ggml's number for the type, as stored in the file. */
    public int id() {
        return id;
    }

    public int blockSize() {
        return blockSize;
    }

    public int blockBytes() {
        return blockBytes;
    }

    /** The format moe4j reads this type as, or null when moe4j only checks this type's layout. */
    public QuantFormat format() {
        return switch (this) {
            case F32 -> QuantFormat.F32;
            case F16 -> QuantFormat.F16;
            case BF16 -> QuantFormat.BF16;
            case Q8_0 -> QuantFormat.Q8_0;
            case Q4_0 -> QuantFormat.Q4_0;
            case Q4_1 -> QuantFormat.Q4_1;
            case Q5_0 -> QuantFormat.Q5_0;
            case Q5_1 -> QuantFormat.Q5_1;
            case Q2_K -> QuantFormat.Q2_K;
            case Q3_K -> QuantFormat.Q3_K;
            case Q4_K -> QuantFormat.Q4_K;
            case Q5_K -> QuantFormat.Q5_K;
            case Q6_K -> QuantFormat.Q6_K;
            default -> null;
        };
    }

    /** The GGUF type of a moe4j format. */
    public static GgmlType of(QuantFormat format) {
        return switch (format) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
            case Q8_0 -> Q8_0;
            case Q4_0 -> Q4_0;
            case Q4_1 -> Q4_1;
            case Q5_0 -> Q5_0;
            case Q5_1 -> Q5_1;
            case Q2_K -> Q2_K;
            case Q3_K -> Q3_K;
            case Q4_K -> Q4_K;
            case Q5_K -> Q5_K;
            case Q6_K -> Q6_K;
        };
    }

    /** The type numbered {@code id}, or null when ggml has no such (current) type. */
    public static GgmlType byId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }
}
