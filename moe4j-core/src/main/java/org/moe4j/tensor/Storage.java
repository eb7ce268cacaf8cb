package org.moe4j.tensor;

/**
 * The flat memory behind tensors. Fast kernels reach the primitive array directly ({@link FloatStorage#array()});
 * reference kernels read and write through {@link #get}/{@link #set} in double precision, so one reference
 * implementation serves every dtype.
 */
public sealed interface Storage permits FloatStorage, DoubleStorage {
    DType dtype();

    int size();

    double get(int index);

    void set(int index, double value);

    static Storage allocate(DType dtype, int size) {
        return switch (dtype) {
            case F32 -> new FloatStorage(new float[size]);
            case F64 -> new DoubleStorage(new double[size]);
        };
    }
}
