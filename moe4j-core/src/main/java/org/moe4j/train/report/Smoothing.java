package org.moe4j.train.report;

/** Smoothing and thinning of per-step series for drawing. */
final class Smoothing {
    private Smoothing() {}

    /**
     * A centered moving average over a window of about a 30th of the series (at most 501 points), truncated at
     * the ends; missing (non-finite) values are skipped, and a point whose window holds none stays NaN. Centered,
     * so the curve does not lag behind the evaluations drawn on it.
     */
    static double[] centered(double[] y) {
        int n = y.length;
        int half = Math.min(250, n / 60);
        double[] sum = new double[n + 1];
        int[] count = new int[n + 1];
        for (int i = 0; i < n; i++) {
            boolean ok = Double.isFinite(y[i]);
            sum[i + 1] = sum[i] + (ok ? y[i] : 0);
            count[i + 1] = count[i] + (ok ? 1 : 0);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            int lo = Math.max(0, i - half), hi = Math.min(n, i + half + 1);
            int c = count[hi] - count[lo];
            out[i] = c == 0 ? Double.NaN : (sum[hi] - sum[lo]) / c;
        }
        return out;
    }

    /** Means of x and y over {@code buckets} equal runs of points (non-finite values skipped): {x[], y[]}. */
    static double[][] buckets(double[] x, double[] y, int buckets) {
        int n = x.length;
        int b = Math.min(n, buckets);
        double[] bx = new double[b], by = new double[b];
        for (int k = 0; k < b; k++) {
            int lo = (int) ((long) k * n / b), hi = (int) ((long) (k + 1) * n / b);
            double sx = 0, sy = 0;
            int cx = 0, cy = 0;
            for (int i = lo; i < hi; i++) {
                if (Double.isFinite(x[i])) {
                    sx += x[i];
                    cx++;
                }
                if (Double.isFinite(y[i])) {
                    sy += y[i];
                    cy++;
                }
            }
            bx[k] = cx == 0 ? Double.NaN : sx / cx;
            by[k] = cy == 0 ? Double.NaN : sy / cy;
        }
        return new double[][] {bx, by};
    }
}
