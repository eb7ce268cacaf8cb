package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/**
 * {@link DotGemm}: every fast path (the 1x16 butterfly, 4x4 and 1x4 tiles, single dots, threads split by columns
 * and across groups) equals the scalar definition bit for bit on odd shapes with padded leading dimensions, a row
 * gives the same bits alone as inside any batch, and the result is close to the double-precision product.
 */
class DotGemmTest {
    private static final int[][] SHAPES = {{1, 1, 1}, {1, 5, 16}, {1, 37, 19}, {3, 50, 33}, {4, 8, 64}, {5, 17, 70},
        {7, 13, 256}, {9, 31, 17}, {13, 4, 1}, {2, 129, 100}, {1, 300, 1030}, {6, 70, 300}, {3, 40, 64},
        {1, 48, 256}, {5, 35, 32}};

    /** A problem with offsets and padded leading dimensions, and optionally a bias. */
    private record Problem(int m, int n, int k, float[] x, int offX, int ldx, float[] w, int offW, int ldw,
            float[] bias, int offBias, int offY, int ldy) {
        static Problem random(Rng rng, int m, int n, int k, boolean bias) {
            int ldx = k + rng.nextInt(3), ldw = k + rng.nextInt(3), ldy = n + rng.nextInt(3);
            int offX = rng.nextInt(4), offW = rng.nextInt(4), offB = rng.nextInt(3), offY = rng.nextInt(4);
            return new Problem(m, n, k, normal(rng, offX + m * ldx), offX, ldx, normal(rng, offW + n * ldw), offW, ldw,
                    bias ? normal(rng, offB + n) : null, offB, offY, ldy);
        }

        float[] fast() {
            float[] y = new float[offY + m * ldy];
            DotGemm.forward(m, n, k, x, offX, ldx, w, offW, ldw, bias, offBias, y, offY, ldy);
            return y;
        }

        float[] definition() {
            float[] y = new float[offY + m * ldy];
            DotGemm.reference(m, n, k, x, offX, ldx, w, offW, ldw, bias, offBias, y, offY, ldy);
            return y;
        }

        /** Row i alone, as an m = 1 problem. */
        float[] row(int i) {
            float[] y = new float[n];
            DotGemm.forward(1, n, k, x, offX + i * ldx, k, w, offW, ldw, bias, offBias, y, 0, n);
            return y;
        }

        double[] exact() {
            double[] y = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = bias == null ? 0 : bias[offBias + j];
                    for (int p = 0; p < k; p++) s += (double) x[offX + i * ldx + p] * w[offW + j * ldw + p];
                    y[i * n + j] = s;
                }
            }
            return y;
        }
    }

    private static float[] normal(Rng rng, int size) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) a[i] = (float) rng.normal();
        return a;
    }

    @Test
    void fastPathEqualsDefinitionBitForBitForEveryThreadCount() {
        Rng rng = new Rng(11);
        int before = Parallel.threads();
        try {
            for (int[] s : SHAPES) {
                for (boolean bias : new boolean[] {false, true}) {
                    Problem p = Problem.random(rng, s[0], s[1], s[2], bias);
                    float[] expected = p.definition();
                    for (int threads : new int[] {1, 2, 3}) {
                        Parallel.setThreads(threads);
                        assertArrayEquals(expected, p.fast(), Arrays.toString(s) + " bias " + bias + " threads " + threads);
                    }
                }
            }
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void aRowAloneEqualsItsRowInsideTheBatch() {
        Rng rng = new Rng(12);
        for (int[] s : SHAPES) {
            Problem p = Problem.random(rng, s[0], s[1], s[2], true);
            float[] batch = p.fast();
            for (int i = 0; i < p.m; i++) {
                float[] inBatch = Arrays.copyOfRange(batch, p.offY + i * p.ldy, p.offY + i * p.ldy + p.n);
                assertArrayEquals(inBatch, p.row(i), Arrays.toString(s) + " row " + i);
            }
        }
    }

    @Test
    void closeToTheExactProduct() {
        Rng rng = new Rng(13);
        for (int[] s : SHAPES) {
            Problem p = Problem.random(rng, s[0], s[1], s[2], true);
            float[] y = p.fast();
            double[] exact = p.exact();
            for (int i = 0; i < p.m; i++) {
                for (int j = 0; j < p.n; j++) {
                    double e = exact[i * p.n + j];
                    double got = y[p.offY + i * p.ldy + j];
                    assertTrue(Math.abs(got - e) <= 1e-4 * Math.sqrt(p.k) * 4 + 1e-5, Arrays.toString(s) + ": " + got
                            + " vs " + e);
                }
            }
        }
    }

    @Test
    void linearOnStridedTensorsMatchesTheDefinition() {
        Rng rng = new Rng(14);
        Tensor x = StridedInputs.strided(rng, 2, 3, 37); // [2, 3, 37], last axis stride 2
        Tensor w = StridedInputs.transposed(rng, 21, 37); // [21, 37], a transposed view
        Tensor b = StridedInputs.strided(rng, 21);
        Tensor y = DotGemm.linear(x, w, b);
        assertArrayEquals(new int[] {2, 3, 21}, y.shape());
        float[] expected = new float[6 * 21];
        DotGemm.reference(6, 21, 37, x.contiguous().toFloatArray(), 0, 37, w.contiguous().toFloatArray(), 0, 37,
                b.contiguous().toFloatArray(), 0, expected, 0, 21);
        assertArrayEquals(expected, y.toFloatArray());
    }

    @Test
    void groupedEqualsOneProductPerGroupAndIsBatchInvariant() {
        Rng rng = new Rng(15);
        int before = Parallel.threads();
        try {
            int k = 70, n = 45;
            int[] offsets = {0, 3, 3, 4, 11, 12};
            int groups = offsets.length - 1, rows = offsets[groups];
            Tensor x = TestData.randn(rng, rows, k);
            Tensor w = TestData.randn(rng, groups, n, k);
            float[] xa = x.toFloatArray(), wa = w.toFloatArray();
            float[] expected = new float[rows * n];
            for (int g = 0; g < groups; g++) {
                int r0 = offsets[g], r1 = offsets[g + 1];
                DotGemm.reference(r1 - r0, n, k, xa, r0 * k, k, wa, g * n * k, k, null, 0, expected, r0 * n, n);
            }
            for (int threads : new int[] {1, 2, 3}) {
                Parallel.setThreads(threads);
                assertArrayEquals(expected, DotGemm.grouped(x, w, offsets).toFloatArray(), "threads " + threads);
                // A row alone in its group gives the same bits.
                Tensor alone = DotGemm.grouped(x.narrow(0, 5, 1), w, new int[] {0, 0, 0, 0, 1, 1});
                assertArrayEquals(Arrays.copyOfRange(expected, 5 * n, 6 * n), alone.toFloatArray());
            }
            // Big enough to split across threads by work items spanning groups.
            int bigK = 512, bigN = 260;
            Tensor bx = TestData.randn(rng, 7, bigK);
            Tensor bw = TestData.randn(rng, 3, bigN, bigK);
            int[] bigOffsets = {0, 2, 2, 7};
            Parallel.setThreads(1);
            float[] one = DotGemm.grouped(bx, bw, bigOffsets).toFloatArray();
            Parallel.setThreads(3);
            assertArrayEquals(one, DotGemm.grouped(bx, bw, bigOffsets).toFloatArray());
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void misuseNamesTheOpAndShapes() {
        Tensor x = Tensor.zeros(2, 3);
        ShapeException e = assertThrows(ShapeException.class, () -> DotGemm.linear(x, Tensor.zeros(4, 5), null));
        assertTrue(e.getMessage().contains("linear") && e.getMessage().contains("[4, 5]"), e.getMessage());
        assertThrows(ShapeException.class, () -> DotGemm.linear(x, Tensor.zeros(4, 3), Tensor.zeros(5)));
        assertThrows(ShapeException.class, () -> DotGemm.grouped(x, Tensor.zeros(2, 4, 3), new int[] {0, 1, 1}));
        assertThrows(ShapeException.class, () -> DotGemm.forward(2, 2, 3, new float[5], 0, 3, new float[6], 0, 3,
                null, 0, new float[4], 0, 2));
    }
}
