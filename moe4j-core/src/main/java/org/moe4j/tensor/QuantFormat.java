package org.moe4j.tensor;

/**
 * How a weight matrix is stored, row by row: plain floats, 16-bit floats, or ggml's blocks of 32 values with one
 * f16 scale each. A row of {@code cols} values takes {@code cols / blockSize} blocks of {@code blockBytes}.
 */
public enum QuantFormat {
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    /** 32 values: f16 scale d, then 32 int8 q; value = q * d. */
    Q8_0(32, 34),
    /** 32 values: f16 scale d, then 16 bytes whose low nibbles are values 0-15 and high nibbles 16-31; value = (q - 8) * d. */
    Q4_0(32, 18);

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

    /** Bytes of {@code values} values (a whole number of blocks), exactly; throws ArithmeticException on overflow. */
    public long bytesFor(long values) {
        if (values % blockSize != 0) {
            throw new IllegalArgumentException(values + " values are not a whole number of " + this + " blocks of "
                    + blockSize);
        }
        return Math.multiplyExact(values / blockSize, (long) blockBytes);
    }
}
