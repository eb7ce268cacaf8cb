package org.moe4j.kernel;

import java.util.Arrays;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;

/**
 * Tensor-level batched matrix products: {@code [..., m, k] x [..., k, n]} with broadcast batch axes, optionally
 * summed down to a smaller batch shape. Each operand's last two axes are read in place when they form a
 * row-major or transposed matrix (a transpose view needs no copy); other layouts are copied once.
 *
 * <p>Two cases become a single large GEMM: a shared right operand folds the batch into A's rows (activations
 * times a weight), and a full reduction whose batch axes lie next to k folds the batch into k (the weight's
 * gradient).
 */
final class GemmBatch {
    private GemmBatch() {}

    /** How a matrix (the last two axes) lies in storage: {@code trans} means column-major with stride ld. */
    private record Layout(boolean trans, int ld) {}

    static Tensor matmulSumTo(String op, Tensor a, Tensor b, int[] target) {
        if (a.rank() < 2 || b.rank() < 2) {
            throw ShapeException.of(op, "needs operands of rank 2 or more", a.shape(), b.shape());
        }
        if (a.dtype() != b.dtype()) {
            throw new ShapeException(op, "operands have different dtypes " + a.dtype() + " and " + b.dtype());
        }
        int m = a.dim(-2);
        int k = a.dim(-1);
        int n = b.dim(-1);
        if (b.dim(-2) != k) throw ShapeException.of(op, "inner dimensions differ", a.shape(), b.shape());
        int[] batchA = Arrays.copyOf(a.shape(), a.rank() - 2);
        int[] batchB = Arrays.copyOf(b.shape(), b.rank() - 2);
        int[] full = Shapes.broadcast(op, batchA, batchB);
        int[] kept = target == null ? full : target;
        checkSumTo(op, kept, full);
        int[] outShape = Arrays.copyOf(kept, kept.length + 2);
        outShape[kept.length] = m;
        outShape[kept.length + 1] = n;
        Tensor out = Tensor.zeros(a.dtype(), outShape);
        if (out.numel() == 0) return out;

        if (layout(a) == null) a = a.contiguous();
        if (layout(b) == null) b = b.contiguous();
        Layout la = layout(a);
        Layout lb = layout(b);
        // Batch strides of each operand and of the output, aligned to the full batch shape (0 where broadcast).
        int r = full.length;
        int[] sa = batchStrides(a, r);
        int[] sb = batchStrides(b, r);
        int[] so = batchStrides(out, r);
        boolean f32 = a.dtype() == DType.F32;

        if (f32 && k > 0 && foldRows(a, la, b, lb, sb, kept, full, m, k, n, out)) return out;
        if (f32 && k > 0 && foldDepth(a, la, b, lb, kept, full, m, n, k, out)) return out;

        // General case: one GEMM per batch index. The indices that share an output block (those summed over)
        // run in row-major order on one thread, the first overwriting the block (beta 0), the rest adding to it.
        int[] keptAxes = keptAxes(full, kept);
        int blocks = Shapes.numel(kept);
        int perBlock = Shapes.numel(full) / blocks;
        int[][] offsets = new int[blocks][2 * perBlock + 1]; // per output block: {offA, offB} pairs, then offC
        int[] idx = new int[r];
        int[] filled = new int[blocks];
        for (int flat = 0, total = Shapes.numel(full); flat < total; flat++) {
            unravel(flat, full, idx);
            int offA = a.offset();
            int offB = b.offset();
            int offC = out.offset();
            int blk = 0;
            for (int d = 0; d < r; d++) {
                offA += idx[d] * sa[d];
                offB += idx[d] * sb[d];
                offC += idx[d] * so[d];
            }
            for (int d : keptAxes) blk = blk * full[d] + idx[d];
            int[] entry = offsets[blk];
            entry[2 * filled[blk]] = offA;
            entry[2 * filled[blk] + 1] = offB;
            entry[2 * perBlock] = offC;
            filled[blk]++;
        }
        if (f32) {
            GemmProblem[][] problems = new GemmProblem[blocks][perBlock];
            float[] fa = a.floats();
            float[] fb = b.floats();
            float[] fc = out.floats();
            for (int blk = 0; blk < blocks; blk++) {
                int[] e = offsets[blk];
                for (int q = 0; q < perBlock; q++) {
                    problems[blk][q] = new GemmProblem(la.trans(), lb.trans(), m, n, k, 1f, fa, e[2 * q],
                            la.ld(), fb, e[2 * q + 1], lb.ld(), q == 0 ? 0f : 1f, fc, e[2 * perBlock], n);
                }
            }
            runBlocks(problems, (long) m * n * k);
        } else {
            for (int blk = 0; blk < blocks; blk++) {
                int[] e = offsets[blk];
                for (int q = 0; q < perBlock; q++) {
                    Gemm.reference(la.trans(), lb.trans(), m, n, k, 1, a.storage(), e[2 * q], la.ld(),
                            b.storage(), e[2 * q + 1], lb.ld(), q == 0 ? 0 : 1, out.storage(), e[2 * perBlock], n);
                }
            }
        }
        return out;
    }

    /** Runs each block's problems in order; blocks in parallel when there are enough of them. */
    private static void runBlocks(GemmProblem[][] problems, long macsEach) {
        int blocks = problems.length;
        long macsPerBlock = macsEach * problems[0].length;
        if (blocks >= Parallel.threads() && macsPerBlock * blocks >= Gemm.MACS_PER_THREAD * 2) {
            int grain = (int) Math.max(1, Math.min(blocks, Gemm.MACS_PER_THREAD / Math.max(1, macsPerBlock)));
            Parallel.forRange(blocks, grain, (from, to) -> {
                for (int blk = from; blk < to; blk++) for (GemmProblem g : problems[blk]) Gemm.sgemm(g, false);
            });
        } else {
            for (GemmProblem[] block : problems) for (GemmProblem g : block) Gemm.sgemm(g, true);
        }
    }

    /**
     * No reduction, B shared by the whole batch, and A's batch and row axes one uniform stride apart: the batch
     * is just more rows of one GEMM.
     */
    private static boolean foldRows(Tensor a, Layout la, Tensor b, Layout lb, int[] sb, int[] kept, int[] full, int m,
            int k, int n, Tensor out) {
        if (!Arrays.equals(kept, full) || la.trans()) return false;
        for (int s : sb) if (s != 0) return false;
        int r = full.length;
        int[] sizes = Arrays.copyOf(full, r + 1);
        int[] strides = Arrays.copyOf(batchStrides(a, r), r + 1);
        sizes[r] = m;
        strides[r] = la.ld();
        int stride = collapse(sizes, strides);
        if (stride < 0) return false;
        int rows = Shapes.numel(sizes);
        Gemm.sgemm(new GemmProblem(false, lb.trans(), rows, n, k, 1f, a.floats(), a.offset(), stride,
                b.floats(), b.offset(), lb.ld(), 0f, out.floats(), out.offset(), n), true);
        return true;
    }

    /** A full reduction whose batch axes extend k in both operands: one GEMM with a longer k. */
    private static boolean foldDepth(Tensor a, Layout la, Tensor b, Layout lb, int[] kept, int[] full, int m, int n,
            int k, Tensor out) {
        if (Shapes.numel(kept) != 1 || full.length == 0) return false;
        int r = full.length;
        int[] sizes = Arrays.copyOf(full, r + 1);
        sizes[r] = k;
        int[] stridesA = Arrays.copyOf(batchStrides(a, r), r + 1);
        stridesA[r] = a.stride(-1);
        int[] stridesB = Arrays.copyOf(batchStrides(b, r), r + 1);
        stridesB[r] = b.stride(-2);
        int strideA = collapse(sizes, stridesA);
        int strideB = collapse(sizes, stridesB);
        int depth = Shapes.numel(sizes);
        // The folded k axis must be the unit-stride axis of a transposed A / row-major B, or the ld of the other.
        Layout fa = matrixLayout(m, depth, a.stride(-2), strideA);
        Layout fb = matrixLayout(depth, n, strideB, b.stride(-1));
        if (strideA < 0 || strideB < 0 || fa == null || fb == null) return false;
        Gemm.sgemm(new GemmProblem(fa.trans(), fb.trans(), m, n, depth, 1f, a.floats(), a.offset(), fa.ld(),
                b.floats(), b.offset(), fb.ld(), 0f, out.floats(), out.offset(), n), true);
        return true;
    }

    /** The single stride of axes that tile memory uniformly (outer = inner stride x inner size), or -1. */
    static int collapse(int[] sizes, int[] strides) {
        int stride = -1;
        long expected = -1;
        for (int d = sizes.length - 1; d >= 0; d--) {
            if (sizes[d] == 1) continue;
            if (stride < 0) {
                stride = strides[d];
            } else if (strides[d] != expected) {
                return -1;
            }
            expected = (long) strides[d] * sizes[d];
        }
        return stride < 0 ? 1 : stride;
    }

    private static Layout layout(Tensor t) {
        return matrixLayout(t.dim(-2), t.dim(-1), t.stride(-2), t.stride(-1));
    }

    /** Row-major (unit column stride) or transposed (unit row stride) layout of a rows x cols matrix, or null. */
    static Layout matrixLayout(int rows, int cols, int rowStride, int colStride) {
        if (rows == 0 || cols == 0) return new Layout(false, Math.max(1, cols));
        if (cols <= 1 || colStride == 1) {
            int ld = rows <= 1 ? Math.max(1, cols) : rowStride;
            if (ld >= Math.max(1, cols)) return new Layout(false, ld);
        }
        if (rows <= 1 || rowStride == 1) {
            int ld = cols <= 1 ? Math.max(1, rows) : colStride;
            if (ld >= Math.max(1, rows)) return new Layout(true, ld);
        }
        return null;
    }

    /** The strides of t's batch axes aligned right to a batch of rank r; 0 for missing or size-1 axes. */
    private static int[] batchStrides(Tensor t, int r) {
        int[] shape = t.shape();
        int[] strides = t.strides();
        int own = t.rank() - 2;
        int[] out = new int[r];
        for (int d = 0; d < own; d++) out[r - own + d] = shape[d] == 1 ? 0 : strides[d];
        return out;
    }

    private static void checkSumTo(String op, int[] kept, int[] full) {
        boolean ok = kept.length <= full.length;
        for (int d = 0; ok && d < kept.length; d++) {
            int f = full[full.length - kept.length + d];
            ok = kept[d] == f || kept[d] == 1;
        }
        if (!ok) throw ShapeException.of(op, "batch shape cannot be summed to the target", full, kept);
    }

    /** Axes of the full batch that the target keeps (equal and larger than 1 there). */
    private static int[] keptAxes(int[] full, int[] kept) {
        int lead = full.length - kept.length;
        return java.util.stream.IntStream.range(0, full.length)
                .filter(d -> d >= lead && kept[d - lead] == full[d] && full[d] > 1).toArray();
    }

    private static void unravel(int flat, int[] shape, int[] idx) {
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
    }
}
