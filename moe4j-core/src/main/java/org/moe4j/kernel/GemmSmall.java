package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float GEMM without packing, for problems where packing would cost as much as the multiply: tiny matrices,
 * and a few rows against a large B (matrix-vector products, one token through a layer).
 *
 * <p>Two forms, both summing each C element in k order: {@link #rows} when op(B) rows are contiguous (C row
 * += a(i, p) * B row p), {@link #dots} when B is transposed (C[i][j] = A row i . B row j, vectorized along
 * k). Both work on a column range, so callers can split columns across threads without changing results.
 */
final class GemmSmall {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int L = S.length();
    /** Column strip of {@link #rows}: its accumulators stay in L1. */
    private static final int STRIP = 512;

    private GemmSmall() {}

    /** C columns [j0, j1) for a problem with B not transposed: row-times-matrix, accumulated in a strip. */
    static void rows(GemmPacked.Problem g, int j0, int j1) {
        float[] a = g.a();
        float[] b = g.b();
        float[] acc = new float[Math.min(STRIP, j1 - j0)];
        for (int js = j0; js < j1; js += STRIP) {
            int w = Math.min(STRIP, j1 - js);
            int upper = S.loopBound(w);
            for (int i = 0; i < g.m(); i++) {
                java.util.Arrays.fill(acc, 0, w, 0f);
                for (int p = 0; p < g.k(); p++) {
                    float x = a[g.offA() + (g.transA() ? p * g.lda() + i : i * g.lda() + p)];
                    FloatVector xs = FloatVector.broadcast(S, x);
                    int src = g.offB() + p * g.ldb() + js;
                    int j = 0;
                    for (; j < upper; j += L) {
                        xs.fma(FloatVector.fromArray(S, b, src + j), FloatVector.fromArray(S, acc, j)).intoArray(acc, j);
                    }
                    for (; j < w; j++) acc[j] = Math.fma(x, b[src + j], acc[j]);
                }
                merge(g, acc, i, js, w);
            }
        }
    }

    /** C columns [j0, j1) for a problem with B transposed: dot products of rows, vectorized along k. */
    static void dots(GemmPacked.Problem g, int j0, int j1) {
        float[] a = g.a();
        float[] b = g.b();
        int k = g.k();
        float[] row = g.transA() ? new float[k] : null;
        float[] lanes = new float[L];
        float[] out = new float[j1 - j0];
        for (int i = 0; i < g.m(); i++) {
            float[] x = a;
            int xi = g.offA() + i * g.lda();
            if (g.transA()) {
                // Gather the strided row once; every dot product of this row then reads it contiguously.
                for (int p = 0; p < k; p++) row[p] = a[g.offA() + p * g.lda() + i];
                x = row;
                xi = 0;
            }
            for (int j = j0; j < j1; j++) out[j - j0] = dot(x, xi, b, g.offB() + j * g.ldb(), k, lanes);
            merge(g, out, i, j0, j1 - j0);
        }
    }

    /** The dot product of two runs of k floats: per-lane partial sums, added up in a fixed order. */
    private static float dot(float[] x, int xi, float[] y, int yi, int k, float[] lanes) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = s0;
        int p = 0;
        for (int upper = k - 2 * L; p <= upper; p += 2 * L) {
            s0 = FloatVector.fromArray(S, x, xi + p).fma(FloatVector.fromArray(S, y, yi + p), s0);
            s1 = FloatVector.fromArray(S, x, xi + p + L).fma(FloatVector.fromArray(S, y, yi + p + L), s1);
        }
        if (p <= k - L) {
            s0 = FloatVector.fromArray(S, x, xi + p).fma(FloatVector.fromArray(S, y, yi + p), s0);
            p += L;
        }
        // Sum the lanes in index order (not reduceLanes, whose order is unspecified) so results are reproducible.
        s0.add(s1).intoArray(lanes, 0);
        float sum = 0;
        for (int l = 0; l < L; l++) sum += lanes[l];
        for (; p < k; p++) sum = Math.fma(x[xi + p], y[yi + p], sum);
        return sum;
    }

    /** {@code C[i][j0 .. j0+w) = alpha * sums + beta * C}, without reading C when beta is 0. */
    private static void merge(GemmPacked.Problem g, float[] sums, int i, int j0, int w) {
        float[] c = g.c();
        int ci = g.offC() + i * g.ldc() + j0;
        float alpha = g.alpha();
        float beta = g.beta();
        if (beta == 0f) {
            for (int j = 0; j < w; j++) c[ci + j] = alpha * sums[j];
        } else {
            for (int j = 0; j < w; j++) c[ci + j] = Math.fma(c[ci + j], beta, alpha * sums[j]);
        }
    }
}
