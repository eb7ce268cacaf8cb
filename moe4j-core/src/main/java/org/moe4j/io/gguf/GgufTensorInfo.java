package org.moe4j.io.gguf;

import java.util.Arrays;

/**
 * One tensor's entry, already checked against the file: its bytes are {@code [offset, offset + byteSize)} of the
 * data section, aligned, inside it and overlapping no other tensor.
 *
 * @param dims dimensions in ggml's order: {@code dims[0]} is the row length (the fastest-varying one)
 */
public record GgufTensorInfo(String name, GgmlType type, long[] dims, long offset, long byteSize) {
    public GgufTensorInfo {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** The shape outermost first, as moe4j and PyTorch write it: {@code dims} reversed. */
    public long[] shape() {
        long[] s = new long[dims.length];
        for (int i = 0; i < dims.length; i++) s[i] = dims[dims.length - 1 - i];
        return s;
    }

    /** The element count (the header check guarantees it does not overflow). */
    public long numel() {
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }

    /** Values per row ({@code dims[0]}, or 1 for a scalar). */
    public long rowLength() {
        return dims.length == 0 ? 1 : dims[0];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && type == t.type && Arrays.equals(dims, t.dims)
                && offset == t.offset && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape()) + " @" + offset + "+" + byteSize;
    }
}
