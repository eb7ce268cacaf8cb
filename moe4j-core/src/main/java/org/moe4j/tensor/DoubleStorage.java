package org.moe4j.tensor;

/** Heap float64 storage, used by gradchecks through the reference kernels. */
public record DoubleStorage(double[] array) implements Storage {
    @Override
    public DType dtype() {
        return DType.F64;
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
        array[index] = value;
    }
}
