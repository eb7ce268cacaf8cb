package org.moe4j.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * General matrix multiply: {@code C = alpha * op(A) * op(B) + beta * C}, row-major, where {@code op(X)} is X or
 * its transpose. Leading dimensions are in elements, as in BLAS.
 *
 * <p>{@link #reference} is the short scalar definition (it also serves F64); {@link #sgemm} is the float path:
 * {@link GemmPacked} (blocked, packed, multithreaded) for large problems, {@link GemmSmall} for small ones.
 * {@link #matmul} and {@link #matmulSumTo} multiply tensors with batch axes ({@link GemmBatch}).
 */
public final class Gemm {
    /** Below this many multiply-adds, packing costs more than it saves. */
    private static final long SMALL_MACS = 32L * 32 * 32;
    /** Up to this many rows, B is read in place instead of being packed (matrix-vector products, decoding). */
    private static final int FEW_ROWS = 4;
    /** Multiply-adds per thread below which splitting work is not worth a hand-off to the pool. */
    static final long MACS_PER_THREAD = 1L << 23;
    /**
     * The same for the paths without packing, whose multiply-adds cost several times more (a matrix-vector
     * product streams B once; a transposed B is turned in registers): one token through a 1024 x 1024 layer,
     * about 0.1 ms, is split in two.
     */
    private static final long SMALL_MACS_PER_THREAD = 1L << 19;

    private Gemm() {}

    /**
     * Float32 GEMM on arrays. {@code beta == 0} overwrites C without reading it (NaN in C does not leak).
     *
     * <p>Every element is computed by one fixed sequence of float operations, whatever m and n are, where the
     * element sits, which path runs and how many threads share the work: so a row (or a column) multiplied alone
     * gives the same bits as inside a larger product, e.g. one token alone or in a batch. The sequence: k is cut
     * into {@code ceil(k / 1024)} depth blocks of equal size (bounds from k alone); for each block, {@code s}
     * starts at +0 and takes {@code s = fma(op(A)[i][p], op(B)[p][j], s)} for p in order; then C becomes {@code
     * s * alpha} (first block, beta 0), {@code fma(C, beta, s * alpha)} (first block) or {@code fma(C, 1, s *
     * alpha)} (later blocks). When k or alpha is 0, {@code C = C * beta} (or 0). The scalar backend runs the same
     * sequence.
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
            float[] a, int offA, int lda, float[] b, int offB, int ldb, float beta, float[] c, int offC, int ldc) {
        checkArgs(transA, transB, m, n, k, lda, ldb, ldc);
        checkBounds(transA, transB, m, n, k, a.length, offA, lda, b.length, offB, ldb, c.length, offC, ldc);
        sgemm(new GemmProblem(transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc),
                true);
    }

    /**
     * {@code batch} independent float GEMMs; problem {@code i} reads A at {@code offA + i * strideA}, B at
     * {@code offB + i * strideB} and writes C at {@code offC + i * strideC}. A stride of 0 reuses one matrix
     * for every problem (broadcast); C's stride must keep the outputs apart.
     */
    public static void sgemmBatched(boolean transA, boolean transB, int batch, int m, int n, int k, float alpha,
            float[] a, int offA, int lda, int strideA, float[] b, int offB, int ldb, int strideB,
            float beta, float[] c, int offC, int ldc, int strideC) {
        checkArgs(transA, transB, m, n, k, lda, ldb, ldc);
        if (batch < 0 || strideA < 0 || strideB < 0 || strideC < 0) {
            throw new ShapeException("gemmBatched", "negative batch or stride: batch=" + batch + " strides "
                    + strideA + ", " + strideB + ", " + strideC);
        }
        if (batch == 0 || m == 0 || n == 0) return;
        if (batch > 1 && (long) strideC < (long) (m - 1) * ldc + n) {
            throw new ShapeException("gemmBatched", "C stride " + strideC + " makes outputs of " + m + "x" + n
                    + " (ldc " + ldc + ") overlap");
        }
        long lastA = offA + (long) (batch - 1) * strideA;
        long lastB = offB + (long) (batch - 1) * strideB;
        long lastC = offC + (long) (batch - 1) * strideC;
        if (lastA > Integer.MAX_VALUE || lastB > Integer.MAX_VALUE || lastC > Integer.MAX_VALUE) {
            throw new ShapeException("gemmBatched", "batch offsets overflow an int");
        }
        checkBounds(transA, transB, m, n, k, a.length, (int) lastA, lda, b.length, (int) lastB, ldb, c.length,
                (int) lastC, ldc);
        GemmProblem[] problems = new GemmProblem[batch];
        for (int i = 0; i < batch; i++) {
            problems[i] = new GemmProblem(transA, transB, m, n, k, alpha, a, offA + i * strideA, lda,
                    b, offB + i * strideB, ldb, beta, c, offC + i * strideC, ldc);
        }
        runAll(problems, (long) m * n * k);
    }

    /** Runs independent problems: across threads when there are enough of them, else each one threaded. */
    static void runAll(GemmProblem[] problems, long macsEach) {
        int count = problems.length;
        if (count >= Parallel.threads() && macsEach * count >= MACS_PER_THREAD * 2) {
            int grain = (int) Math.max(1, Math.min(count, MACS_PER_THREAD / Math.max(1, macsEach)));
            Parallel.forRange(count, grain, (from, to) -> {
                for (int i = from; i < to; i++) sgemm(problems[i], false);
            });
        } else {
            for (GemmProblem g : problems) sgemm(g, true);
        }
    }

    /**
     * The matrix product of the last two axes, {@code [..., m, k] x [..., k, n] -> [..., m, n]}, with the batch
     * axes broadcast as in NumPy. Transposed views ({@code t.transpose(-1, -2)}) are multiplied in place,
     * without a copy. F32 takes the fast path, F64 the reference.
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        return GemmBatch.matmulSumTo("matmul", a, b, null);
    }

    /**
     * {@link #matmul} summed over batch axes down to {@code batchShape} (which must broadcast to the product's
     * batch shape), without materializing the full batch: the gradient of a broadcast operand.
     */
    public static Tensor matmulSumTo(Tensor a, Tensor b, int... batchShape) {
        return GemmBatch.matmulSumTo("matmulSumTo", a, b, batchShape.clone());
    }

    /**
     * A dense layer: {@code x [..., in]} times {@code weight [out, in]} transposed, plus {@code bias [out]} (or
     * none), giving {@code [..., out]}. The weight is read in place, in PyTorch's layout.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        if (x.rank() < 1 || weight.rank() != 2 || x.dim(-1) != weight.dim(1)) {
            throw ShapeException.of("linear", "needs x [..., in] and weight [out, in]", x.shape(), weight.shape());
        }
        int in = weight.dim(1);
        int out = weight.dim(0);
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != out)) {
            throw ShapeException.of("linear", "bias must be [out] for weight [out, in]", bias.shape(), weight.shape());
        }
        int[] shape = x.shape();
        int rows = Shapes.numel(Arrays.copyOf(shape, shape.length - 1));
        Tensor y = matmul(x.reshape(rows, in), weight.transpose(0, 1)); // [rows, out], fresh and contiguous
        if (bias != null) addToRows(y, bias);
        shape[shape.length - 1] = out;
        return y.reshape(shape);
    }

    /** {@code y[i][:] += v} for each row of a contiguous [rows, cols] tensor. */
    private static void addToRows(Tensor y, Tensor v) {
        int rows = y.dim(0);
        int cols = y.dim(1);
        if (y.dtype() == v.dtype() && y.dtype() == DType.F32 && v.isContiguous() && Backend.vector()) {
            float[] d = y.floats();
            float[] s = v.floats();
            int os = v.offset();
            Parallel.forRange(rows, Math.max(1, (1 << 14) / Math.max(1, cols)), (from, to) -> {
                VectorSpecies<Float> species = Backend.FLOATS;
                int upper = species.loopBound(cols);
                for (int i = from; i < to; i++) {
                    int od = y.offset() + i * cols;
                    int j = 0;
                    for (; j < upper; j += species.length()) {
                        FloatVector.fromArray(species, d, od + j).add(FloatVector.fromArray(species, s, os + j))
                                .intoArray(d, od + j);
                    }
                    for (; j < cols; j++) d[od + j] += s[os + j];
                }
            });
        } else {
            Storage d = y.storage();
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    int p = y.offset() + i * cols + j;
                    d.set(p, d.get(p) + v.getDouble(j));
                }
            }
        }
    }

    /**
     * The float path with arguments already checked; {@code threads} false keeps it on the calling thread. The
     * problem's epilogue, if any, sees every block of C once it is final (the packed path: each block of rows and
     * columns it packs for; the others: the whole of C, or each thread's columns).
     */
    static void sgemm(GemmProblem g, boolean threads) {
        int m = g.m();
        int n = g.n();
        int k = g.k();
        if (m == 0 || n == 0) return;
        GemmEpilogue epilogue = g.epilogue();
        if (k == 0 || g.alpha() == 0f) {
            scale(g);
            if (epilogue != null) epilogue.apply(g, 0, m, 0, n);
            return;
        }
        if (!Backend.vector()) {
            referenceFloat(g);
            if (epilogue != null) epilogue.apply(g, 0, m, 0, n);
            return;
        }
        long macs = (long) m * n * k;
        if (macs <= SMALL_MACS || m <= FEW_ROWS) {
            // No packing: register tiles over op(B) rows, or over blocks of a transposed B turned in registers.
            // Threads split columns in whole tiles.
            boolean transposed = g.transB();
            int unit = 2 * Backend.FLOATS.length();
            int units = (n + unit - 1) / unit;
            int chunks = threads ? (int) Math.min(units, Math.max(1, macs / SMALL_MACS_PER_THREAD)) : 1;
            Parallel.forChunks(units, Math.min(chunks, Parallel.threads()), (chunk, from, to) -> {
                int j0 = from * unit;
                int j1 = Math.min(n, to * unit);
                if (transposed) GemmSmall.transposedB(g, j0, j1);
                else GemmSmall.rows(g, j0, j1);
                if (epilogue != null) epilogue.apply(g, 0, m, j0, j1);
            });
            return;
        }
        int mPanels = (m + GemmPacked.MR - 1) / GemmPacked.MR;
        int nPanels = (n + GemmPacked.NR - 1) / GemmPacked.NR;
        int chunks = threads ? (int) Math.min(Parallel.threads(), Math.max(1, macs / MACS_PER_THREAD)) : 1;
        // Each thread owns whole panels of C and packs what it needs itself, so the operand every thread packs
        // in full (A when columns are split, B when rows are) should be the smaller one.
        if (n > m && nPanels >= chunks || mPanels < chunks) {
            Parallel.forChunks(nPanels, Math.min(chunks, nPanels), (chunk, from, to) ->
                    GemmPacked.block(g, 0, m, from * GemmPacked.NR, Math.min(n, to * GemmPacked.NR)));
        } else {
            Parallel.forChunks(mPanels, Math.min(chunks, mPanels), (chunk, from, to) ->
                    GemmPacked.block(g, from * GemmPacked.MR, Math.min(m, to * GemmPacked.MR), 0, n));
        }
    }

    /** {@code C = beta * C} (zero when beta is 0, without reading C): the whole GEMM when k or alpha is 0. */
    private static void scale(GemmProblem g) {
        float[] c = g.c();
        for (int i = 0; i < g.m(); i++) {
            int ci = g.offC() + i * g.ldc();
            if (g.beta() == 0f) {
                Arrays.fill(c, ci, ci + g.n(), 0f);
            } else {
                for (int j = 0; j < g.n(); j++) c[ci + j] *= g.beta();
            }
        }
    }

    /** The scalar definition over any storage, accumulating in double precision. */
    public static void reference(boolean transA, boolean transB, int m, int n, int k, double alpha,
            Storage a, int offA, int lda, Storage b, int offB, int ldb, double beta, Storage c, int offC, int ldc) {
        checkArgs(transA, transB, m, n, k, lda, ldb, ldc);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    double x = a.get(offA + (transA ? p * lda + i : i * lda + p));
                    double y = b.get(offB + (transB ? j * ldb + p : p * ldb + j));
                    sum += x * y;
                }
                int ci = offC + i * ldc + j;
                c.set(ci, alpha * sum + (beta == 0 ? 0 : beta * c.get(ci)));
            }
        }
    }

    /**
     * The float definition, element by element (see {@link #sgemm}): what the scalar backend runs, and what every
     * fast path must equal bit for bit. Called only with m, n, k > 0 and alpha != 0.
     */
    static void referenceFloat(GemmProblem g) {
        float[] a = g.a();
        float[] b = g.b();
        float[] c = g.c();
        int k = g.k();
        int blocks = GemmPacked.depthBlocks(k);
        for (int i = 0; i < g.m(); i++) {
            for (int j = 0; j < g.n(); j++) {
                int ci = g.offC() + i * g.ldc() + j;
                for (int kb = 0; kb < blocks; kb++) {
                    float sum = 0;
                    for (int p = GemmPacked.depthStart(k, kb, blocks); p < GemmPacked.depthStart(k, kb + 1, blocks);
                            p++) {
                        sum = Math.fma(a[g.offA() + (g.transA() ? p * g.lda() + i : i * g.lda() + p)],
                                b[g.offB() + (g.transB() ? j * g.ldb() + p : p * g.ldb() + j)], sum);
                    }
                    float beta = kb == 0 ? g.beta() : 1f;
                    c[ci] = kb == 0 && beta == 0f ? sum * g.alpha() : Math.fma(c[ci], beta, sum * g.alpha());
                }
            }
        }
    }

    static void checkArgs(boolean transA, boolean transB, int m, int n, int k, int lda, int ldb, int ldc) {
        if (m < 0 || n < 0 || k < 0) throw new ShapeException("gemm", "negative size m=" + m + " n=" + n + " k=" + k);
        if (lda < Math.max(1, transA ? m : k) || ldb < Math.max(1, transB ? k : n) || ldc < Math.max(1, n)) {
            throw new ShapeException("gemm", "leading dimension too small: lda=" + lda + " ldb=" + ldb + " ldc=" + ldc
                    + " for m=" + m + " n=" + n + " k=" + k);
        }
    }

    /** Rejects offsets that would index outside the arrays, before any thread starts writing. */
    private static void checkBounds(boolean transA, boolean transB, int m, int n, int k, int lenA, int offA,
            int lda, int lenB, int offB, int ldb, int lenC, int offC, int ldc) {
        if (m == 0 || n == 0) return;
        check("A", lenA, offA, transA ? k : m, transA ? m : k, lda);
        check("B", lenB, offB, transB ? n : k, transB ? k : n, ldb);
        check("C", lenC, offC, m, n, ldc);
    }

    private static void check(String name, int length, int offset, int rows, int cols, int ld) {
        if (rows == 0 || cols == 0) return;
        long last = offset + (long) (rows - 1) * ld + cols - 1;
        if (offset < 0 || last >= length) {
            throw new ShapeException("gemm", name + " of " + rows + "x" + cols + " at offset " + offset + " (ld " + ld
                    + ") does not fit in an array of " + length);
        }
    }
}
