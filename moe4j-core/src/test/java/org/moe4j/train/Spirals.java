package org.moe4j.train;

import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * The classic interleaved-spirals toy task: {@code classes} arms of points in the plane, with noise. Not linearly
 * separable, so a model must learn a curved boundary; small enough to train in seconds.
 */
public record Spirals(Tensor points, IntTensor labels) {
    /** {@code perClass} points for each of {@code classes} arms: points [n, 2], labels [n]. */
    public static Spirals generate(int classes, int perClass, double noise, Rng rng) {
        if (classes < 2 || perClass < 1) throw new Moe4jException("spirals: need at least 2 classes and 1 point each");
        int n = Math.multiplyExact(classes, perClass);
        float[] xy = new float[2 * n]; // [n, 2]
        int[] labels = new int[n];
        for (int c = 0; c < classes; c++) {
            for (int i = 0; i < perClass; i++) {
                int row = c * perClass + i;
                double r = (double) i / perClass;
                double theta = 4.0 * r + 2 * Math.PI * c / classes + noise * rng.normal();
                xy[2 * row] = (float) (r * Math.sin(theta));
                xy[2 * row + 1] = (float) (r * Math.cos(theta));
                labels[row] = c;
            }
        }
        return new Spirals(Tensor.of(xy, n, 2), new IntTensor(labels, new int[] {n}));
    }

    public int size() {
        return labels.numel();
    }

    /** The rows listed in {@code rows}, as a batch: points [b, 2], labels [b]. */
    public Spirals batch(int[] rows, int from, int to) {
        float[] src = points.floats();
        float[] xy = new float[2 * (to - from)];
        int[] y = new int[to - from];
        for (int i = from; i < to; i++) {
            xy[2 * (i - from)] = src[2 * rows[i]];
            xy[2 * (i - from) + 1] = src[2 * rows[i] + 1];
            y[i - from] = labels.data()[rows[i]];
        }
        return new Spirals(Tensor.of(xy, to - from, 2), new IntTensor(y, new int[] {to - from}));
    }
}
