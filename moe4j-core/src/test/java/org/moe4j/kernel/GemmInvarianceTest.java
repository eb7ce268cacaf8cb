package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;

/**
 * Batch invariance of {@link Gemm#sgemm}: every element is one fixed sequence of float operations, so a row of A
 * (or a column of B) multiplied alone gives exactly the bits it has inside a bigger product, on every path
 * (small, transposed-B, packed, edge tiles), for every transpose and thread count; and every path equals the
 * scalar definition {@link Gemm#referenceFloat} bit for bit.
 */
class GemmInvarianceTest {
    /** Rows m, columns n, depth k: tiny, few-row, packed with ragged edges, and k past one or two depth blocks. */
    private static final int[][] SHAPES = {{1, 1, 1}, {1, 37, 19}, {3, 50, 33}, {5, 17, 70}, {4, 200, 129},
        {13, 33, 20}, {33, 47, 65}, {70, 41, 100}, {2, 30, 1100}, {17, 9, 2100}, {64, 96, 64}, {70, 45, 1030}};
    private static final float[][] SCALARS = {{1, 0}, {0.75f, 0.5f}, {-1.5f, 1}};

    /** One problem stored with padded leading dimensions and offsets. */
    private record Problem(boolean ta, boolean tb, int m, int n, int k, float alpha, float beta, float[] a, int offA,
            int lda, float[] b, int offB, int ldb, float[] c, int offC, int ldc) {
        static Problem random(Rng rng, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta) {
            int lda = (ta ? m : k) + rng.nextInt(3);
            int ldb = (tb ? k : n) + rng.nextInt(3);
            int ldc = n + rng.nextInt(3);
            int offA = rng.nextInt(4);
            int offB = rng.nextInt(4);
            int offC = rng.nextInt(4);
            return new Problem(ta, tb, m, n, k, alpha, beta, normal(rng, offA + (ta ? k : m) * lda), offA, lda,
                    normal(rng, offB + (tb ? n : k) * ldb), offB, ldb, normal(rng, offC + m * ldc), offC, ldc);
        }

        float[] fast() {
            float[] out = c.clone();
            Gemm.sgemm(ta, tb, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, out, offC, ldc);
            return out;
        }

        float[] definition() {
            float[] out = c.clone();
            Gemm.referenceFloat(new GemmProblem(ta, tb, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, out, offC,
                    ldc));
            return out;
        }

        /** Row i of op(A) times op(B), as a problem of its own (C starts as row i of this C). */
        float[] rowAlone(int i) {
            float[] out = Arrays.copyOfRange(c, offC + i * ldc, offC + i * ldc + n);
            int rowA = offA + (ta ? i : i * lda);
            Gemm.sgemm(ta, tb, 1, n, k, alpha, a, rowA, ta ? Math.max(1, lda) : k, b, offB, ldb, beta, out, 0, n);
            return out;
        }

        /** op(A) times column j of op(B), as a problem of its own. */
        float[] columnAlone(int j) {
            float[] out = new float[m];
            for (int i = 0; i < m; i++) out[i] = c[offC + i * ldc + j];
            int colB = offB + (tb ? j * ldb : j);
            Gemm.sgemm(ta, tb, m, 1, k, alpha, a, offA, lda, b, colB, tb ? k : ldb, beta, out, 0, 1);
            return out;
        }

        @Override
        public String toString() {
            return "m=" + m + " n=" + n + " k=" + k + " transA=" + ta + " transB=" + tb + " alpha=" + alpha
                    + " beta=" + beta;
        }
    }

    private static float[] normal(Rng rng, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) rng.normal();
        return x;
    }

    @Test
    void everyPathEqualsTheDefinitionBitForBit() {
        Rng rng = new Rng(21);
        for (int[] s : SHAPES) {
            for (int combo = 0; combo < 4; combo++) {
                float[] ab = SCALARS[rng.nextInt(SCALARS.length)];
                Problem g = Problem.random(rng, (combo & 1) != 0, (combo & 2) != 0, s[0], s[1], s[2], ab[0], ab[1]);
                assertArrayEquals(g.definition(), g.fast(), g.toString());
            }
        }
    }

    @Test
    void rowsAndColumnsAloneEqualTheirPlaceInTheProductForEveryThreadCount() {
        int saved = Parallel.threads();
        try {
            Rng rng = new Rng(22);
            for (int threads = 1; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                for (int[] s : SHAPES) {
                    for (int combo = 0; combo < 4; combo++) {
                        float[] ab = SCALARS[rng.nextInt(SCALARS.length)];
                        Problem g = Problem.random(rng, (combo & 1) != 0, (combo & 2) != 0, s[0], s[1], s[2],
                                ab[0], ab[1]);
                        float[] all = g.fast();
                        for (int i = 0; i < g.m(); i++) {
                            int from = g.offC() + i * g.ldc();
                            assertArrayEquals(Arrays.copyOfRange(all, from, from + g.n()), g.rowAlone(i),
                                    g + ", " + threads + " threads: row " + i + " alone");
                        }
                        for (int j = 0; j < g.n(); j += 1 + g.n() / 7) {
                            float[] column = g.columnAlone(j);
                            for (int i = 0; i < g.m(); i++) {
                                assertEquals(Float.floatToRawIntBits(all[g.offC() + i * g.ldc() + j]),
                                        Float.floatToRawIntBits(column[i]), g + ", " + threads + " threads: column "
                                                + j + " alone, row " + i);
                            }
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void theDefinitionIsNotAnyOrderOfSummation() {
        // The check above could pass vacuously if every order gave the same bits; here two orders differ.
        Rng rng = new Rng(23);
        float[] a = normal(rng, 1000);
        float[] b = normal(rng, 1000);
        float[] c = new float[1];
        Gemm.sgemm(false, true, 1, 1, 1000, 1f, a, 0, 1000, b, 0, 1000, 0f, c, 0, 1);
        float backwards = 0;
        for (int p = 999; p >= 0; p--) backwards = Math.fma(a[p], b[p], backwards);
        assertNotEquals(backwards, c[0]);
    }
}
