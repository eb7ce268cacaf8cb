package org.moe4j.tensor;

import java.util.Arrays;
import org.moe4j.common.ShapeException;

/**
 * Integer indices with a shape, row-major and contiguous: token ids, class targets, top-k indices, expert
 * assignments. Indices never carry gradients, so they need no views or dtypes.
 */
public record IntTensor(int[] data, int[] shape) {
    public IntTensor {
        shape = shape.clone();
        if (Shapes.numel(shape) != data.length) {
            throw ShapeException.of("IntTensor", data.length + " values do not fill", shape);
        }
    }

    /** A 1-d tensor over the given values. */
    public static IntTensor of(int... data) {
        return new IntTensor(data, new int[] {data.length});
    }

    public static IntTensor zeros(int... shape) {
        return new IntTensor(new int[Shapes.numel(shape)], shape);
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    public int numel() {
        return data.length;
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int axis) {
        return shape[Shapes.axis("dim", axis, shape.length)];
    }

    /** The same values in a new shape (no -1 inference). */
    public IntTensor reshape(int... newShape) {
        return new IntTensor(data, newShape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IntTensor other && Arrays.equals(data, other.data) && Arrays.equals(shape, other.shape);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(data) + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return "IntTensor" + Arrays.toString(shape) + " " + Arrays.toString(Arrays.copyOf(data, Math.min(16, data.length)))
                + (data.length > 16 ? "…" : "");
    }
}
