package org.moe4j.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float GEMM without packing, for problems where packing would cost as much as the multiply: tiny matrices,
 * and a few rows against a large B (matrix-vector products, one token through a layer).
 *
 * <p>Two forms, both computing each C element exactly as {@link Gemm#sgemm} defines it (a fused multiply-add
 * chain in k order per depth block, merged into C block by block), so a row gives the same bits here as in the
 * packed path: {@link #rows} when op(B) rows are contiguous (a register tile of 4 C rows x 2 vectors accumulates
 * {@code a(i, p) * B row p}), {@link #transposedB} when B is stored transposed (L x L blocks of B are turned in
 * registers by {@link GemmTranspose} and multiplied into the rows the same way). Both work on a column range, so
 * callers can split columns across threads without changing results.
 */
final class GemmSmall {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int L = S.length();
    /** Columns of one register tile. */
    private static final int W = 2 * L;

    private GemmSmall() {}

    /** C columns [j0, j1) for a problem with B not transposed, in register tiles of 4 rows x {@code W} columns. */
    static void rows(GemmProblem g, int j0, int j1) {
        int m = g.m();
        int k = g.k();
        int blocks = GemmPacked.depthBlocks(k);
        float[] tile = new float[4 * W]; // [4][W] sums of one register tile over one depth block
        for (int js = j0; js < j1; js += W) {
            int w = Math.min(W, j1 - js);
            for (int kb = 0; kb < blocks; kb++) {
                int p0 = GemmPacked.depthStart(k, kb, blocks);
                int p1 = GemmPacked.depthStart(k, kb + 1, blocks);
                int i = 0;
                for (; i + 4 <= m; i += 4) {
                    tile4(g, i, js, w, p0, p1, tile);
                    for (int r = 0; r < 4; r++) merge(g, tile, r * W, i + r, js, w, kb == 0);
                }
                for (; i < m; i++) {
                    tile1(g, i, js, w, p0, p1, tile);
                    merge(g, tile, 0, i, js, w, kb == 0);
                }
            }
        }
    }

    /** Sums over depth [p0, p1) of rows [i, i+4) x columns [js, js+w) into {@code tile[4][W]}. */
    private static void tile4(GemmProblem g, int i, int js, int w, int p0, int p1, float[] tile) {
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
        int ai = g.offA() + i * rowStep + p0 * depthStep;
        int bi = g.offB() + p0 * g.ldb() + js;
        for (int p = p0; p < p1; p++, ai += depthStep, bi += g.ldb()) {
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

    /** Sums over depth [p0, p1) of row i x columns [js, js+w) into {@code tile[0][W]}. */
    private static void tile1(GemmProblem g, int i, int js, int w, int p0, int p1, float[] tile) {
        float[] a = g.a();
        float[] b = g.b();
        int depthStep = g.transA() ? g.lda() : 1;
        VectorMask<Float> lo = S.indexInRange(0, w);
        VectorMask<Float> hi = S.indexInRange(L, w);
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = c0;
        int ai = g.offA() + i * (g.transA() ? 1 : g.lda()) + p0 * depthStep;
        int bi = g.offB() + p0 * g.ldb() + js;
        for (int p = p0; p < p1; p++, ai += depthStep, bi += g.ldb()) {
            FloatVector x = FloatVector.broadcast(S, a[ai]);
            c0 = x.fma(FloatVector.fromArray(S, b, bi, lo), c0);
            c1 = x.fma(FloatVector.fromArray(S, b, bi + L, hi), c1);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, L);
    }

    /**
     * C columns [j0, j1) for a problem with B transposed ({@code C = op(A) B^T}, B stored {@code [n, k]}), in tiles
     * of L columns. Full L x L blocks of B are transposed in registers and multiplied into 4 rows of A at once
     * (or one, for a last single row), so B is read once per 4 rows; partial blocks, at the matrix edges, are
     * transposed by a scalar loop into a small array first. The running sums of the rows wait in a small array.
     */
    static void transposedB(GemmProblem g, int j0, int j1) {
        int m = g.m();
        int k = g.k();
        float[] a = g.a();
        int rowStep = g.transA() ? 1 : g.lda(); // a(i+1, p) - a(i, p)
        int depthStep = g.transA() ? g.lda() : 1; // a(i, p+1) - a(i, p)
        int blocks = GemmPacked.depthBlocks(k);
        float[] sums = new float[(m + 3) * L]; // [m + 3][L]: rows' sums over one depth block; 3 spare rows
        float[] columns = new float[L * L]; // [L depth steps][L columns]: one partial block of op(B)
        for (int js = j0; js < j1; js += L) {
            int w = Math.min(L, j1 - js);
            int bj = g.offB() + js * g.ldb();
            for (int kb = 0; kb < blocks; kb++) {
                int p0 = GemmPacked.depthStart(k, kb, blocks);
                int p1 = GemmPacked.depthStart(k, kb + 1, blocks);
                Arrays.fill(sums, 0f);
                int full = w == L && GemmTranspose.UNROLLED ? (p1 - p0) / L : 0; // full blocks along k
                if (full > 0) {
                    int a0 = g.offA() + p0 * depthStep;
                    int i = 0;
                    for (; i + 1 < m; i += 4) {
                        // Two to four rows; a missing row repeats the last one into a spare row of sums.
                        int last = Math.min(m, i + 4) - 1;
                        GemmTranspose.chains4(g.b(), bj + p0, g.ldb(), full, a, a0 + i * rowStep,
                                a0 + Math.min(i + 1, last) * rowStep, a0 + Math.min(i + 2, last) * rowStep,
                                a0 + last * rowStep, depthStep, sums, i * L, (i + 1) * L, (i + 2) * L, (i + 3) * L);
                    }
                    if (i < m) GemmTranspose.chains1(g.b(), bj + p0, g.ldb(), full, a, a0 + i * rowStep, depthStep,
                            sums, i * L);
                }
                for (int p = p0 + full * L; p < p1; p += L) {
                    int depth = Math.min(L, p1 - p);
                    GemmTranspose.scalar(L, g.b(), bj + p, g.ldb(), w, depth, columns, 0, L);
                    for (int i = 0; i < m; i++) {
                        FloatVector sum = FloatVector.fromArray(S, sums, i * L);
                        int ai = g.offA() + i * rowStep + p * depthStep;
                        for (int q = 0; q < depth; q++, ai += depthStep) {
                            sum = FloatVector.broadcast(S, a[ai]).fma(FloatVector.fromArray(S, columns, q * L), sum);
                        }
                        sum.intoArray(sums, i * L);
                    }
                }
                for (int i = 0; i < m; i++) merge(g, sums, i * L, i, js, w, kb == 0);
            }
        }
    }

    /**
     * Merges one depth block's sums into {@code C[i][j0 .. j0+w)} as {@link GemmPacked#store} does: {@code
     * alpha * s + beta * C} for the first block (not reading C when beta is 0), {@code alpha * s + C} after.
     */
    private static void merge(GemmProblem g, float[] sums, int from, int i, int j0, int w, boolean first) {
        float[] c = g.c();
        int ci = g.offC() + i * g.ldc() + j0;
        float alpha = g.alpha();
        float beta = first ? g.beta() : 1f;
        if (first && beta == 0f) {
            for (int j = 0; j < w; j++) c[ci + j] = sums[from + j] * alpha;
        } else {
            for (int j = 0; j < w; j++) c[ci + j] = Math.fma(c[ci + j], beta, sums[from + j] * alpha);
        }
    }
}
