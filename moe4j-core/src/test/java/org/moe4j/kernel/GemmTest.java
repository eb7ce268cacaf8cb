package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DoubleStorage;
import org.moe4j.tensor.FloatStorage;

/** The float GEMM (small and packed paths, every transpose, alpha/beta, offsets) against the reference. */
class GemmTest {
    private static final float SENTINEL = 1234.5f;

    /** One random problem with padded leading dimensions and offsets; C outside the result holds a sentinel. */
    private record Case(boolean ta, boolean tb, int m, int n, int k, float alpha, float beta, float[] a, int offA,
            int lda, float[] b, int offB, int ldb, float[] c, int offC, int ldc) {
        static Case random(Rng rng, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta) {
            int lda = Math.max(1, ta ? m : k) + rng.nextInt(3);
            int ldb = Math.max(1, tb ? k : n) + rng.nextInt(3);
            int ldc = Math.max(1, n) + rng.nextInt(3);
            int offA = rng.nextInt(5);
            int offB = rng.nextInt(5);
            int offC = rng.nextInt(5);
            float[] a = fill(rng, offA + (ta ? k : m) * lda + 3);
            float[] b = fill(rng, offB + (tb ? n : k) * ldb + 3);
            float[] c = fill(rng, offC + m * ldc + 3);
            return new Case(ta, tb, m, n, k, alpha, beta, a, offA, lda, b, offB, ldb, c, offC, ldc);
        }

        float[] runFast() {
            float[] out = c.clone();
            Gemm.sgemm(ta, tb, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, out, offC, ldc);
            return out;
        }

        double[] runReference() {
            double[] out = new double[c.length];
            for (int i = 0; i < c.length; i++) out[i] = c[i];
            Gemm.reference(ta, tb, m, n, k, alpha, new FloatStorage(a), offA, lda, new FloatStorage(b), offB, ldb,
                    beta, new DoubleStorage(out), offC, ldc);
            return out;
        }

        @Override
        public String toString() {
            return "m=" + m + " n=" + n + " k=" + k + " transA=" + ta + " transB=" + tb + " alpha=" + alpha
                    + " beta=" + beta + " lda=" + lda + " ldb=" + ldb + " ldc=" + ldc;
        }
    }

    private static float[] fill(Rng rng, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) rng.uniform(-1, 1);
        return x;
    }

    private static void assertMatchesReference(Case g) {
        float[] fast = g.runFast();
        double[] ref = g.runReference();
        double tol = 2e-6 * (g.k() + 4);
        for (int i = 0; i < fast.length; i++) {
            if (!(Math.abs(fast[i] - ref[i]) <= tol * (1 + Math.abs(ref[i])))) {
                fail(g + ": element " + i + " expected " + ref[i] + " but was " + fast[i]);
            }
        }
    }

    @Test
    void randomShapesMatchReference() {
        Rng rng = new Rng(7);
        int[] sizes = {0, 1, 2, 3, 5, 11, 12, 13, 16, 17, 31, 32, 33, 47, 64, 95};
        float[][] scalars = {{1, 0}, {1, 1}, {-0.5f, 0.25f}, {2, 0}, {0, 0.5f}};
        for (int t = 0; t < 160; t++) {
            int m = sizes[rng.nextInt(sizes.length)];
            int n = sizes[rng.nextInt(sizes.length)];
            int k = sizes[rng.nextInt(sizes.length)];
            float[] s = scalars[rng.nextInt(scalars.length)];
            assertMatchesReference(Case.random(rng, rng.nextInt(2) == 1, rng.nextInt(2) == 1, m, n, k, s[0], s[1]));
        }
    }

    @Test
    void largeShapesCrossEveryBlockBoundary() {
        Rng rng = new Rng(11);
        // m past MC (60 rows), n past NR panels with ragged edges and past NC (1024), k past KC (1024) in two and
        // three blocks, and the thin shapes that split rows instead of columns.
        int[][] shapes = {{250, 70, 300}, {20, 40, 1100}, {13, 70, 2049}, {30, 1100, 20}, {130, 129, 257},
            {5, 300, 60}, {300, 5, 40}, {61, 33, 1}};
        for (int[] s : shapes) {
            for (int combo = 0; combo < 4; combo++) {
                assertMatchesReference(Case.random(rng, (combo & 1) != 0, (combo & 2) != 0, s[0], s[1], s[2],
                        combo == 3 ? -1.5f : 1f, combo == 2 ? 0.5f : 0f));
            }
        }
    }

    @Test
    void fewRowsAgainstWideMatrices() {
        Rng rng = new Rng(13);
        for (int m = 1; m <= 5; m++) {
            for (int combo = 0; combo < 4; combo++) {
                assertMatchesReference(Case.random(rng, (combo & 1) != 0, (combo & 2) != 0, m, 1100, 97, 1f, 0.5f));
            }
        }
    }

    @Test
    void betaZeroIgnoresNanInCAndNothingOutsideTheResultChanges() {
        Rng rng = new Rng(3);
        for (int[] s : new int[][] {{3, 5, 4}, {40, 70, 90}}) {
            int m = s[0];
            int n = s[1];
            int k = s[2];
            int ldc = n + 2;
            float[] c = new float[1 + m * ldc];
            java.util.Arrays.fill(c, SENTINEL);
            for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c[1 + i * ldc + j] = Float.NaN;
            Gemm.sgemm(false, false, m, n, k, 1f, fill(rng, m * k), 0, k, fill(rng, k * n), 0, n, 0f, c, 1, ldc);
            assertEquals(SENTINEL, c[0]);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < ldc; j++) {
                    float v = c[1 + i * ldc + j];
                    if (j < n) assertTrue(Float.isFinite(v), "NaN leaked at " + i + "," + j);
                    else if (1 + i * ldc + j < c.length) assertEquals(SENTINEL, v, "padding changed at " + i + "," + j);
                }
            }
        }
    }

    @Test
    void zeroDepthScalesC() {
        float[] c = {1, 2, 3, 4};
        Gemm.sgemm(false, false, 2, 2, 0, 1f, new float[0], 0, 1, new float[0], 0, 2, 3f, c, 0, 2);
        assertArrayEquals(new float[] {3, 6, 9, 12}, c);
        float[] nan = {Float.NaN, Float.NaN};
        Gemm.sgemm(false, false, 1, 2, 0, 1f, new float[0], 0, 1, new float[0], 0, 2, 0f, nan, 0, 2);
        assertArrayEquals(new float[] {0, 0}, nan);
    }

    @Test
    void resultDoesNotDependOnThreadCount() {
        int saved = Parallel.threads();
        try {
            Rng rng = new Rng(5);
            int[][] shapes = {{300, 520, 270}, {700, 40, 260}, {3, 3000, 200}, {130, 250, 77}, {40, 300, 1100}};
            for (int[] s : shapes) {
                for (int combo = 0; combo < 4; combo++) {
                    Case g = Case.random(rng, (combo & 1) != 0, (combo & 2) != 0, s[0], s[1], s[2], 0.75f, 0.5f);
                    Parallel.setThreads(1);
                    float[] one = g.runFast();
                    Parallel.setThreads(2);
                    float[] two = g.runFast();
                    Parallel.setThreads(3);
                    float[] three = g.runFast();
                    assertArrayEquals(one, two, g + " differs between 1 and 2 threads");
                    assertArrayEquals(one, three, g + " differs between 1 and 3 threads");
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void batchedMatchesOneCallPerProblemAndBroadcastsStrideZero() {
        Rng rng = new Rng(17);
        int batch = 5;
        int m = 7;
        int n = 33;
        int k = 20;
        float[] a = fill(rng, batch * m * k);
        float[] b = fill(rng, k * n); // shared by every problem (stride 0)
        float[] c = new float[batch * m * n];
        Gemm.sgemmBatched(false, true, batch, m, n, k, 1f, a, 0, k, m * k, b, 0, k, 0, 0f, c, 0, n, m * n);
        for (int i = 0; i < batch; i++) {
            float[] one = new float[m * n];
            Gemm.sgemm(false, true, m, n, k, 1f, a, i * m * k, k, b, 0, k, 0f, one, 0, n);
            assertArrayEquals(one, java.util.Arrays.copyOfRange(c, i * m * n, (i + 1) * m * n));
        }
    }

    @Test
    void misuseNamesTheOp() {
        float[] x = new float[16];
        ShapeException neg = assertThrows(ShapeException.class,
                () -> Gemm.sgemm(false, false, -1, 2, 2, 1f, x, 0, 2, x, 0, 2, 0f, x, 0, 2));
        assertTrue(neg.getMessage().startsWith("gemm:"), neg.getMessage());
        ShapeException ld = assertThrows(ShapeException.class,
                () -> Gemm.sgemm(false, false, 2, 3, 4, 1f, x, 0, 3, x, 0, 3, 0f, x, 0, 3));
        assertTrue(ld.getMessage().contains("leading dimension"), ld.getMessage());
        ShapeException bounds = assertThrows(ShapeException.class,
                () -> Gemm.sgemm(false, false, 4, 4, 4, 1f, x, 1, 4, x, 0, 4, 0f, x, 0, 4));
        assertTrue(bounds.getMessage().contains("does not fit"), bounds.getMessage());
        ShapeException overlap = assertThrows(ShapeException.class,
                () -> Gemm.sgemmBatched(false, false, 2, 2, 2, 2, 1f, x, 0, 2, 0, x, 0, 2, 0, 0f, x, 0, 2, 2));
        assertTrue(overlap.getMessage().contains("overlap"), overlap.getMessage());
    }
}
