package org.moe4j.kernel;

/**
 * Walks the rows (every axis but the last) of an N-d shape in row-major order, keeping one storage offset per
 * operand, so broadcasting kernels can run a tight loop over each row instead of dividing out every element's
 * coordinates. Operands share the walked shape; a broadcast operand has stride 0 on the axes it repeats.
 */
final class RowWalk {
    @FunctionalInterface
    interface Body {
        /** One row; {@code offsets[k]} is operand k's storage offset of the row's first element (do not modify). */
        void row(int[] offsets);
    }

    private RowWalk() {}

    /** How many rows a shape has (1 for a scalar). */
    static int rows(int[] shape) {
        int n = 1;
        for (int i = 0; i < shape.length - 1; i++) n *= shape[i];
        return shape.length == 0 ? 1 : n;
    }

    /** The length of each row (1 for a scalar). */
    static int rowLength(int[] shape) {
        return shape.length == 0 ? 1 : shape[shape.length - 1];
    }

    /** The strides of the last axis, one per operand (0 for a scalar). */
    static int lastStride(int[] strides) {
        return strides.length == 0 ? 0 : strides[strides.length - 1];
    }

    /**
     * The strides with which an operand of shape {@code from} (and strides {@code fromStrides}) is read when
     * broadcast to {@code to}: 0 on missing leading axes and on axes of size 1. The caller has checked that the
     * shapes broadcast.
     */
    static int[] broadcastStrides(int[] from, int[] fromStrides, int[] to) {
        int[] st = new int[to.length];
        int lead = to.length - from.length;
        for (int i = lead; i < to.length; i++) st[i] = from[i - lead] == 1 ? 0 : fromStrides[i - lead];
        return st;
    }

    /** Visits rows {@code from .. to-1} of {@code shape}; each operand starts at {@code bases[k]}. */
    static void walk(int[] shape, int[] bases, int[][] strides, int from, int to, Body body) {
        if (from >= to) return;
        int axes = shape.length - 1; // the row axes are 0 .. axes-1
        int ops = bases.length;
        int[] off = bases.clone();
        if (axes <= 0) {
            body.row(off);
            return;
        }
        int[] counter = new int[axes];
        int rem = from;
        for (int a = axes - 1; a >= 0; a--) {
            counter[a] = rem % shape[a];
            rem /= shape[a];
            for (int k = 0; k < ops; k++) off[k] += counter[a] * strides[k][a];
        }
        for (int row = from; row < to; row++) {
            body.row(off);
            for (int a = axes - 1; a >= 0; a--) {
                counter[a]++;
                for (int k = 0; k < ops; k++) off[k] += strides[k][a];
                if (counter[a] < shape[a]) break;
                counter[a] = 0;
                for (int k = 0; k < ops; k++) off[k] -= strides[k][a] * shape[a];
            }
        }
    }
}
