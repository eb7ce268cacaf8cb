package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float GEMM without packing, for problems where packing would cost as much as the multiply: tiny matrices,
 * and a few rows against a large B (matrix-vector products, one token through a layer).
 *
 * <p>Two forms, both summing each C element in k order: {@link #rows} when op(B) rows are contiguous (a
 * register tile of 4 C rows x 2 vectors accumulates {@code a(i, p) * B row p}), {@link #dots} when B is
 * transposed (C[i][j] = A row i . B row j, vectorized along k). Both work on a column range, so callers can
 * split columns across threads without changing results.
 */
final class GemmSmall {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int L = S.length();
    /** Columns of one register tile. */
    private static final int W = 2 * L;

    private GemmSmall() {}

    /** A copy of the problem with op(B) materialized row-major ([k][n]), for {@link #rows} when B is transposed. */
    static GemmProblem withPlainB(GemmProblem g) {
        if (!g.transB()) return g;
        int k = g.k();
        int n = g.n();
        float[] b = g.b();
        float[] plain = new float[k * n]; // [k, n]
        for (int j = 0; j < n; j++) {
            int src = g.offB() + j * g.ldb();
            for (int p = 0; p < k; p++) plain[p * n + j] = b[src + p];
        }
        return new GemmProblem(g.transA(), false, g.m(), n, k, g.alpha(), g.a(), g.offA(), g.lda(),
                plain, 0, Math.max(1, n), g.beta(), g.c(), g.offC(), g.ldc());
    }

    /** C columns [j0, j1) for a problem with B not transposed, in register tiles of 4 rows x {@code W} columns. */
    static void rows(GemmProblem g, int j0, int j1) {
        int m = g.m();
        float[] tile = new float[4 * W]; // [4][W] sums of one register tile
        for (int js = j0; js < j1; js += W) {
            int w = Math.min(W, j1 - js);
            int i = 0;
            for (; i + 4 <= m; i += 4) {
                tile4(g, i, js, w, tile);
                for (int r = 0; r < 4; r++) merge(g, tile, r * W, i + r, js, w);
            }
            for (; i < m; i++) {
                tile1(g, i, js, w, tile);
                merge(g, tile, 0, i, js, w);
            }
        }
    }

    /** Sums of rows [i, i+4) x columns [js, js+w) into {@code tile[4][W]}. */
    private static void tile4(GemmProblem g, int i, int js, int w, float[] tile) {
        float[] a = g.a();
        float[] b = g.b();
        int rowStep = g.transA() ? 1 : g.lda(); // a(i+1, p) - a(i, p)
        int depthStep = g.transA() ? g.lda() : 1; // a(i, p+1) - a(i, p)
        VectorMask<Float> lo = S.indexInRange(0, w);
        VectorMask<Float> hi = S.indexInRange(L, w);
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        int ai = g.offA() + i * rowStep;
        int bi = g.offB() + js;
        for (int p = 0; p < g.k(); p++, ai += depthStep, bi += g.ldb()) {
            FloatVector b0 = FloatVector.fromArray(S, b, bi, lo);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L, hi);
            FloatVector x = FloatVector.broadcast(S, a[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ai + rowStep]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ai + 2 * rowStep]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ai + 3 * rowStep]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, W);
        c11.intoArray(tile, W + L);
        c20.intoArray(tile, 2 * W);
        c21.intoArray(tile, 2 * W + L);
        c30.intoArray(tile, 3 * W);
        c31.intoArray(tile, 3 * W + L);
    }

    /** Sums of row i x columns [js, js+w) into {@code tile[0][W]}. */
    private static void tile1(GemmProblem g, int i, int js, int w, float[] tile) {
        float[] a = g.a();
        float[] b = g.b();
        int depthStep = g.transA() ? g.lda() : 1;
        VectorMask<Float> lo = S.indexInRange(0, w);
        VectorMask<Float> hi = S.indexInRange(L, w);
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = c0;
        int ai = g.offA() + i * (g.transA() ? 1 : g.lda());
        int bi = g.offB() + js;
        for (int p = 0; p < g.k(); p++, ai += depthStep, bi += g.ldb()) {
            FloatVector x = FloatVector.broadcast(S, a[ai]);
            c0 = x.fma(FloatVector.fromArray(S, b, bi, lo), c0);
            c1 = x.fma(FloatVector.fromArray(S, b, bi + L, hi), c1);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, L);
    }

    /** C columns [j0, j1) for a problem with B transposed: dot products of rows, vectorized along k. */
    static void dots(GemmProblem g, int j0, int j1) {
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
            merge(g, out, 0, i, j0, j1 - j0);
        }
    }

    /** The dot product of two runs of k floats: per-lane partial sums, added up in a fixed order. */
    private static float dot(float[] x, int xi, float[] y, int yi, int k, float[] lanes) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = s0;
        int p = 0;
        for (int upper = k - W; p <= upper; p += W) {
            s0 = FloatVector.fromArray(S, x, xi + p).fma(FloatVector.fromArray(S, y, yi + p), s0);
            s1 = FloatVector.fromArray(S, x, xi + p + L).fma(FloatVector.fromArray(S, y, yi + p + L), s1);
        }
        if (p <= k - L) {
            s0 = FloatVector.fromArray(S, x, xi + p).fma(FloatVector.fromArray(S, y, yi + p), s0);
            p += L;
        }
        // Add the lanes in a fixed order (not reduceLanes, whose order is unspecified), two chains at a time.
        s0.add(s1).intoArray(lanes, 0);
        float q0 = 0;
        float q1 = 0;
        int l = 0;
        for (; l + 1 < L; l += 2) {
            q0 += lanes[l];
            q1 += lanes[l + 1];
        }
        float sum = l < L ? q0 + q1 + lanes[l] : q0 + q1;
        for (; p < k; p++) sum = Math.fma(x[xi + p], y[yi + p], sum);
        return sum;
    }

    /** {@code C[i][j0 .. j0+w) = alpha * sums[from ..] + beta * C}, without reading C when beta is 0. */
    private static void merge(GemmProblem g, float[] sums, int from, int i, int j0, int w) {
        float[] c = g.c();
        int ci = g.offC() + i * g.ldc() + j0;
        float alpha = g.alpha();
        float beta = g.beta();
        if (beta == 0f) {
            for (int j = 0; j < w; j++) c[ci + j] = alpha * sums[from + j];
        } else {
            for (int j = 0; j < w; j++) c[ci + j] = Math.fma(c[ci + j], beta, alpha * sums[from + j]);
        }
    }
}
