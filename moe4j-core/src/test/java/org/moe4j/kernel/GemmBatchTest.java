package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/** Tensor-level matmul: broadcast batches, transposed and strided views, sums over batch axes, F64. */
class GemmBatchTest {
    private final Rng rng = new Rng(21);

    /** The definition, element by element in double precision, summed over batch axes not in {@code kept}. */
    private static Tensor naive(Tensor a, Tensor b, int[] kept) {
        int m = a.dim(-2);
        int k = a.dim(-1);
        int n = b.dim(-1);
        int[] full = Shapes.broadcast("naive", Arrays.copyOf(a.shape(), a.rank() - 2), Arrays.copyOf(b.shape(), b.rank() - 2));
        int[] outShape = Arrays.copyOf(kept, kept.length + 2);
        outShape[kept.length] = m;
        outShape[kept.length + 1] = n;
        Tensor out = Tensor.zeros(DType.F64, outShape);
        int[] idx = new int[full.length];
        for (int flat = 0; flat < Shapes.numel(full); flat++) {
            for (int d = full.length - 1, f = flat; d >= 0; d--) {
                idx[d] = f % full[d];
                f /= full[d];
            }
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int p = 0; p < k; p++) sum += at(a, idx, i, p) * at(b, idx, p, j);
                    int[] o = new int[outShape.length];
                    for (int d = 0; d < kept.length; d++) {
                        o[d] = kept[d] == 1 ? 0 : idx[full.length - kept.length + d];
                    }
                    o[kept.length] = i;
                    o[kept.length + 1] = j;
                    out.set(out.getDouble(o) + sum, o);
                }
            }
        }
        return out;
    }

    /** Element (batch idx broadcast into t, r, c). */
    private static double at(Tensor t, int[] batch, int r, int c) {
        int[] i = new int[t.rank()];
        int lead = batch.length - (t.rank() - 2);
        for (int d = 0; d < t.rank() - 2; d++) i[d] = t.dim(d) == 1 ? 0 : batch[lead + d];
        i[t.rank() - 2] = r;
        i[t.rank() - 1] = c;
        return t.getDouble(i);
    }

    private void check(Tensor a, Tensor b) {
        Tensor got = Gemm.matmul(a, b);
        int[] full = Shapes.broadcast("t", Arrays.copyOf(a.shape(), a.rank() - 2), Arrays.copyOf(b.shape(), b.rank() - 2));
        TestData.assertClose(naive(a, b, full), got, 1e-4, 1e-4);
    }

    @Test
    void closedForm() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        Tensor b = Tensor.of(new float[] {5, 6, 7, 8}, 2, 2);
        assertArrayEquals(new float[] {19, 22, 43, 50}, Gemm.matmul(a, b).toFloatArray());
        assertArrayEquals(new float[] {26, 30, 38, 44}, Gemm.matmul(a.transpose(0, 1), b).toFloatArray());
    }

    @Test
    void broadcastBatchesMatchTheDefinition() {
        check(TestData.randn(rng, 3, 5), TestData.randn(rng, 5, 4));
        check(TestData.randn(rng, 2, 3, 5, 7), TestData.randn(rng, 7, 6)); // batch folds into rows
        check(TestData.randn(rng, 7, 4), TestData.randn(rng, 2, 4, 6)); // left operand shared
        check(TestData.randn(rng, 2, 1, 5, 7), TestData.randn(rng, 3, 7, 4)); // both broadcast
        check(TestData.randn(rng, 4, 33, 70), TestData.randn(rng, 4, 70, 50)); // packed path per batch
        check(TestData.randn(rng, 1, 13, 17), TestData.randn(rng, 6, 17, 20));
    }

    @Test
    void transposedAndStridedViewsNeedNoContiguousInput() {
        Tensor at = TestData.randn(rng, 2, 7, 5).transpose(-1, -2); // [2, 5, 7], column-major matrices
        Tensor bt = TestData.randn(rng, 2, 6, 7).transpose(-1, -2); // [2, 7, 6]
        check(at, bt);
        check(at, TestData.randn(rng, 7, 3));
        Tensor wide = TestData.randn(rng, 40, 90);
        check(wide.narrow(1, 3, 60), TestData.randn(rng, 60, 50)); // row stride 90 > 60 columns
        check(wide.slice(1, 0, 90, 2), TestData.randn(rng, 45, 20)); // column stride 2: copied
        check(TestData.randn(rng, 70, 80).transpose(0, 1), TestData.randn(rng, 30, 70).transpose(0, 1)); // packed, both transposed
    }

    @Test
    void emptyShapes() {
        assertArrayEquals(new int[] {0, 4}, Gemm.matmul(Tensor.zeros(0, 3), Tensor.zeros(3, 4)).shape());
        Tensor z = Gemm.matmul(Tensor.full(Float.NaN, 2, 0), Tensor.zeros(0, 3));
        assertArrayEquals(new float[6], z.toFloatArray());
        assertArrayEquals(new int[] {0, 2, 2}, Gemm.matmul(Tensor.zeros(0, 2, 3), Tensor.zeros(3, 2)).shape());
    }

    @Test
    void f64TakesTheReference() {
        Tensor a = TestData.randn64(rng, 2, 3, 4);
        Tensor b = TestData.randn64(rng, 4, 5).transpose(0, 1).transpose(0, 1);
        Tensor got = Gemm.matmul(a, b);
        assertTrue(got.dtype() == DType.F64);
        TestData.assertClose(naive(a, b, new int[] {2}), got, 1e-12, 1e-12);
    }

    @Test
    void sumToReducesBroadcastAxes() {
        Tensor a = TestData.randn(rng, 4, 3, 5, 6);
        Tensor b = TestData.randn(rng, 6, 2);
        for (int[] kept : new int[][] {{}, {3}, {4, 1}, {1, 3}, {4, 3}}) {
            TestData.assertClose(naive(a, b, kept), Gemm.matmulSumTo(a, b, kept), 1e-4, 1e-4);
        }
        // The weight-gradient pattern: x^T dy summed over the batch becomes one GEMM with a longer k.
        Tensor x = TestData.randn(rng, 4, 9, 5);
        Tensor dy = TestData.randn(rng, 4, 9, 3);
        TestData.assertClose(naive(x.transpose(-1, -2), dy, new int[0]),
                Gemm.matmulSumTo(x.transpose(-1, -2), dy), 1e-4, 1e-4);
        Tensor x64 = x.to(DType.F64);
        TestData.assertClose(naive(x64.transpose(-1, -2), dy, new int[] {1}),
                Gemm.matmulSumTo(x64.transpose(-1, -2), dy.to(DType.F64), 1), 1e-12, 1e-12);
    }

    @Test
    void linearIsXTimesWeightTransposedPlusBias() {
        Tensor x = TestData.randn(rng, 2, 3, 5);
        Tensor w = TestData.randn(rng, 4, 5);
        Tensor bias = TestData.randn(rng, 4);
        Tensor y = Gemm.linear(x, w, bias);
        assertArrayEquals(new int[] {2, 3, 4}, y.shape());
        Tensor expected = naive(x, w.transpose(0, 1), new int[] {2});
        for (int i = 0; i < 6; i++) for (int o = 0; o < 4; o++) {
            expected.set(expected.getDouble(i / 3, i % 3, o) + bias.getDouble(o), i / 3, i % 3, o);
        }
        TestData.assertClose(expected, y, 1e-5, 1e-5);
        assertArrayEquals(new int[] {4}, Gemm.linear(TestData.randn(rng, 5), w, null).shape());
    }

    @Test
    void misuseNamesTheOpAndShapes() {
        ShapeException inner = assertThrows(ShapeException.class,
                () -> Gemm.matmul(Tensor.zeros(2, 3), Tensor.zeros(4, 5)));
        assertTrue(inner.getMessage().startsWith("matmul: inner dimensions differ, shapes [2, 3] and [4, 5]"),
                inner.getMessage());
        ShapeException rank = assertThrows(ShapeException.class, () -> Gemm.matmul(Tensor.zeros(3), Tensor.zeros(3, 2)));
        assertTrue(rank.getMessage().contains("rank 2"), rank.getMessage());
        ShapeException batch = assertThrows(ShapeException.class,
                () -> Gemm.matmul(Tensor.zeros(2, 2, 3), Tensor.zeros(3, 3, 2)));
        assertTrue(batch.getMessage().startsWith("matmul:"), batch.getMessage());
        assertThrows(ShapeException.class, () -> Gemm.matmul(Tensor.zeros(2, 3), Tensor.zeros(DType.F64, 3, 2)));
        ShapeException sum = assertThrows(ShapeException.class,
                () -> Gemm.matmulSumTo(Tensor.zeros(4, 2, 3), Tensor.zeros(3, 2), 3));
        assertTrue(sum.getMessage().contains("cannot be summed"), sum.getMessage());
        ShapeException lin = assertThrows(ShapeException.class,
                () -> Gemm.linear(Tensor.zeros(2, 5), Tensor.zeros(4, 6), null));
        assertTrue(lin.getMessage().startsWith("linear:"), lin.getMessage());
        assertThrows(ShapeException.class, () -> Gemm.linear(Tensor.zeros(2, 5), Tensor.zeros(4, 5), Tensor.zeros(3)));
    }
}
