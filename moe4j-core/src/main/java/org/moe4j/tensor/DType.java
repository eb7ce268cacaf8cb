package org.moe4j.tensor;

/**
 * Element types. Training and inference compute in {@link #F32}; {@link #F64} exists so that gradchecks can run
 * the very same ops in double precision through the scalar reference kernels.
 */
public enum DType {
    F32(4),
    F64(8);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }
}
