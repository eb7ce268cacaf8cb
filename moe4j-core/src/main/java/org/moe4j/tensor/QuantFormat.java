package org.moe4j.tensor;

/**
 * How a weight matrix is stored, row by row: plain floats, 16-bit floats, or ggml's blocks of 32 values with one
 * f16 scale each, or ggml's K-quant super-blocks of 256. A row of {@code cols} values takes {@code cols / blockSize}
 * blocks of {@code blockBytes}. moe4j writes the formats up to Q4_0 ({@link #canQuantize()}) and decodes all of them
 * ({@link Quantization#dequantizeRow}), so that GGUF files from llama.cpp and Ollama load.
 */
public enum QuantFormat {
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    /** 32 values: f16 scale d, then 32 int8 q; value = q * d. */
    Q8_0(32, 34),
    /** 32 values: f16 scale d, then 16 bytes whose low nibbles are values 0-15 and high nibbles 16-31; value = (q - 8) * d. */
    Q4_0(32, 18),
    /** 32 values: f16 scale d, f16 minimum m, 16 bytes of nibbles as Q4_0; value = q * d + m. */
    Q4_1(32, 20),
    /** 32 values: f16 d, 32 fifth bits (u32), 16 bytes of nibbles; value = (q - 16) * d. */
    Q5_0(32, 22),
    /** 32 values: f16 d, f16 m, 32 fifth bits, 16 bytes of nibbles; value = q * d + m. */
    Q5_1(32, 24),
    /** 256 values in 16 groups of 16: 4-bit scale and min per group, 2-bit q, f16 d and dmin. */
    Q2_K(256, 84),
    /** 256 values in 16 groups of 16: 6-bit signed scales, 2-bit q plus a high-bit mask, f16 d. */
    Q3_K(256, 110),
    /** 256 values in 8 groups of 32: 6-bit scale and min per group, 4-bit q, f16 d and dmin. */
    Q4_K(256, 144),
    /** 256 values in 8 groups of 32: as Q4_K with a fifth bit per value. */
    Q5_K(256, 176),
    /** 256 values in 16 groups of 16: int8 scales, 6-bit q (4 low bits + 2 high), f16 d. */
    Q6_K(256, 210);

    private final int blockSize;
    private final int blockBytes;

    QuantFormat(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Values per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int blockBytes() {
        return blockBytes;
    }

    /** Whether the format holds blocks with a scale (rather than one float per value). */
    public boolean isBlockQuantized() {
        return blockSize > 1;
    }

    /** Whether this is one of ggml's K-quants, in super-blocks of 256 values. */
    public boolean isKQuant() {
        return blockSize == 256;
    }

    /** Whether moe4j can encode floats in this format (F32 to Q4_0); the others it only decodes. */
    public boolean canQuantize() {
        return ordinal() <= Q4_0.ordinal();
    }

    /** Bytes of {@code values} values (a whole number of blocks), exactly; throws ArithmeticException on overflow. */
    public long bytesFor(long values) {
        if (values % blockSize != 0) {
            throw new IllegalArgumentException(values + " values are not a whole number of " + this + " blocks of "
                    + blockSize);
        }
        return Math.multiplyExact(values / blockSize, (long) blockBytes);
    }
}
