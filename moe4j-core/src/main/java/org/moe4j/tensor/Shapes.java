package org.moe4j.tensor;

import java.util.Arrays;
import org.moe4j.common.ShapeException;

/** Shape arithmetic shared by tensors, kernels and ops. Shapes are plain {@code int[]}, outermost axis first. */
public final class Shapes {
    private Shapes() {}

    /** Element count; rejects negative dimensions and counts that overflow an int. */
    public static int numel(int... shape) {
        int n = 1;
        for (int d : shape) {
            if (d < 0) throw ShapeException.of("shape", "negative dimension", shape);
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw ShapeException.of("shape", "more than 2^31-1 elements", shape);
            }
        }
        return n;
    }

    /** Row-major strides of a contiguous tensor of this shape. */
    public static int[] contiguousStrides(int[] shape) {
        int[] strides = new int[shape.length];
        int s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= shape[i];
        }
        return strides;
    }

    /** Turns a possibly negative axis into [0, rank), or says which op got a bad axis. */
    public static int axis(String op, int axis, int rank) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new ShapeException(op, "axis " + axis + " is out of range for a tensor of rank " + rank);
        }
        return a;
    }

    /** The NumPy broadcast of two shapes, or a {@link ShapeException} naming the op. */
    public static int[] broadcast(String op, int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            int db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw ShapeException.of(op, "shapes cannot be broadcast together", a, b);
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    public static String str(int[] shape) {
        return Arrays.toString(shape);
    }
}
