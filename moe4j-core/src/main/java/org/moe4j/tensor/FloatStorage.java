package org.moe4j.tensor;

/** Heap float32 storage: what training and the fast kernels use. */
public record FloatStorage(float[] array) implements Storage {
    @Override
    public DType dtype() {
        return DType.F32;
    }

    @Override
    public int size() {
        return array.length;
    }

    @Override
    public double get(int index) {
        return array[index];
    }

    @Override
    public void set(int index, double value) {
        array[index] = (float) value;
    }
}
