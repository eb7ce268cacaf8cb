package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/**
 * The fused SwiGLU expert kernels of {@link GroupedGemm} against their definitions, the unfused kernels composed
 * ({@link GroupedGemm#backwardInput}, {@link GluKernels}, {@link Elementwise#addInPlace}): bit for bit, on groups that
 * are cut across threads or kept whole, empty groups, widths that are not multiples of the vector width, and
 * hidden and depth sizes past one GEMM block. Also the {@link GemmEpilogue} contract on every GEMM path.
 */
class GroupedSwigluTest {
    /** offsets, in, hidden, out: the shapes every test below runs. */
    private static final int[][] OFFSETS = {{0, 3, 3, 10, 17}, {0, 200, 300, 301, 700}, {0, 130, 130, 260}, {0, 0},
        {0, 1}, {0, 70, 140}};
    private static final int[][] SIZES = {{19, 21, 13}, {40, 36, 33}, {64, 96, 48}, {9, 17, 5}, {16, 1030, 16},
        {1100, 40, 24}};

    private static Tensor wide(Rng rng, int... shape) {
        Tensor t = TestData.randn(rng, shape);
        float[] v = t.floats();
        for (int i = 0; i < v.length; i++) v[i] *= 3; // gates far enough out that exp saturates somewhere
        return t;
    }

    private static void assertSameBits(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), what);
    }

    @Test
    void fusedBackwardIsTheComposedBackwardBitForBit() {
        Rng rng = new Rng(2);
        int saved = Parallel.threads();
        try {
            for (int threads = 1; threads <= 2; threads++) {
                Parallel.setThreads(threads);
                for (int c = 0; c < OFFSETS.length; c++) {
                    int[] offsets = OFFSETS[c];
                    int[] s = SIZES[c];
                    int rows = offsets[offsets.length - 1], groups = offsets.length - 1;
                    int hidden = s[1], out = s[2];
                    Tensor dy = TestData.randn(rng, rows, out), dw = TestData.randn(rng, groups, out, hidden);
                    Tensor gate = wide(rng, rows, hidden), up = TestData.randn(rng, rows, hidden);
                    Tensor[] fused = GroupedGemm.backwardSwiglu(dy, dw, gate, up, offsets);
                    Tensor[] composed = GluKernels.swigluBackward(gate, up, GroupedGemm.backwardInput(dy, dw, offsets));
                    String what = Arrays.toString(offsets) + " " + Arrays.toString(s) + " threads " + threads;
                    assertSameBits(composed[0], fused[0], "dGate " + what);
                    assertSameBits(composed[1], fused[1], "dUp " + what);
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void backwardInputAddSumsIntoDxAsAddingTheProductWould() {
        Rng rng = new Rng(3);
        for (int c = 0; c < OFFSETS.length; c++) {
            int[] offsets = OFFSETS[c];
            int[] s = SIZES[c];
            int rows = offsets[offsets.length - 1], groups = offsets.length - 1;
            int in = s[0], out = s[1];
            Tensor dy = TestData.randn(rng, rows, out), w = TestData.randn(rng, groups, out, in);
            Tensor first = TestData.randn(rng, rows, in);
            Tensor fused = first.copy();
            GroupedGemm.backwardInputAdd(dy, w, offsets, fused);
            Tensor added = first.copy();
            Elementwise.addInPlace(added, GroupedGemm.backwardInput(dy, w, offsets));
            String what = Arrays.toString(offsets) + " " + Arrays.toString(s);
            if (out <= GemmPacked.KC) {
                assertSameBits(added, fused, what); // one depth block: C + s is the sum itself
            } else {
                TestData.assertClose(added, fused, 1e-5, 1e-5); // deeper: the blocks add onto dx one by one
            }
        }
    }

    @Test
    void otherDtypesTakeTheDefinitionsAndAgreeWithF32() {
        Rng rng = new Rng(4);
        int[] offsets = {0, 40, 41, 90};
        Tensor x = TestData.randn(rng, 90, 33), gw = TestData.randn(rng, 3, 17, 33), uw = TestData.randn(rng, 3, 17, 33);
        Tensor dw = TestData.randn(rng, 3, 11, 17), dy = TestData.randn(rng, 90, 11);
        Tensor[] f = {GroupedGemm.forward(x, gw, offsets), GroupedGemm.forward(x, uw, offsets)};
        Tensor[] d = {f[0].to(DType.F64), f[1].to(DType.F64)};
        Tensor[] fb = GroupedGemm.backwardSwiglu(dy, dw, f[0], f[1], offsets);
        Tensor[] db = GroupedGemm.backwardSwiglu(dy.to(DType.F64), dw.to(DType.F64), d[0], d[1], offsets);
        for (int i = 0; i < 2; i++) TestData.assertClose(db[i], fb[i], 1e-4, 1e-4);
        Tensor dx = TestData.randn(rng, 90, 17);
        Tensor dx64 = dx.to(DType.F64);
        GroupedGemm.backwardInputAdd(TestData.randn(new Rng(5), 90, 11), dw, offsets, dx);
        GroupedGemm.backwardInputAdd(TestData.randn(new Rng(5), 90, 11).to(DType.F64), dw.to(DType.F64), offsets, dx64);
        TestData.assertClose(dx64, dx, 1e-4, 1e-4);
    }

    @Test
    void misuseNamesTheOp() {
        ShapeException b = assertThrows(ShapeException.class, () -> GroupedGemm.backwardSwiglu(Tensor.zeros(4, 3),
                Tensor.zeros(2, 3, 5), Tensor.zeros(4, 6), Tensor.zeros(4, 6), new int[] {0, 2, 4}));
        assertTrue(b.getMessage().contains("groupedSwiglu backward"), b.getMessage());
        assertThrows(ShapeException.class, () -> GroupedGemm.backwardInputAdd(Tensor.zeros(4, 5), Tensor.zeros(2, 5, 3),
                new int[] {0, 2, 4}, Tensor.zeros(4, 2)));
    }

    /**
     * Every element of C passes the epilogue exactly once, holding its final value, on every GEMM path: unpacked
     * small problems, few rows, packed ones past one block of columns (NC) and of depth (KC), k = 0, and threads.
     */
    @Test
    void theEpilogueSeesEveryFinalElementOnce() {
        Rng rng = new Rng(6);
        int[][] shapes = {{3, 5, 4}, {2, 300, 40}, {70, 45, 100}, {13, 1100, 20}, {61, 40, 1030}, {20, 30, 0}};
        int saved = Parallel.threads();
        try {
            for (int threads = 1; threads <= 2; threads++) {
                Parallel.setThreads(threads);
                for (int[] s : shapes) {
                    int m = s[0], n = s[1], k = s[2];
                    for (int combo = 0; combo < 4; combo++) {
                        boolean ta = (combo & 1) != 0, tb = (combo & 2) != 0;
                        int lda = Math.max(1, ta ? m : k), ldb = Math.max(1, tb ? k : n);
                        float[] a = TestData.randn(rng, m * k + 1).floats(), b = TestData.randn(rng, k * n + 1).floats();
                        float[] plain = new float[1 + m * n];
                        Gemm.sgemm(ta, tb, m, n, k, 1f, a, 1, lda, b, 1, ldb, 0f, plain, 1, n);
                        float[] c = new float[1 + m * n];
                        int[] visits = new int[m * n];
                        float[] seen = new float[m * n];
                        GemmEpilogue record = (g, i0, i1, j0, j1) -> {
                            for (int i = i0; i < i1; i++) {
                                for (int j = j0; j < j1; j++) {
                                    synchronized (visits) {
                                        visits[i * n + j]++;
                                    }
                                    seen[i * n + j] = g.c()[g.offC() + i * g.ldc() + j];
                                }
                            }
                        };
                        Gemm.sgemm(new GemmProblem(ta, tb, m, n, k, 1f, a, 1, lda, b, 1, ldb, 0f, c, 1, n,
                                record), true);
                        String what = Arrays.toString(s) + " transA " + ta + " transB " + tb + " threads " + threads;
                        for (int i = 0; i < m * n; i++) assertEquals(1, visits[i], what + ": visits of element " + i);
                        assertArrayEquals(Arrays.copyOfRange(plain, 1, plain.length), seen, what);
                        assertArrayEquals(plain, c, what);
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }
}
