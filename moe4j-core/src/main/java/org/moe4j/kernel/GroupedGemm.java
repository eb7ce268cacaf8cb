package org.moe4j.kernel;

import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * Grouped GEMM: the rows of x come in contiguous groups, group g being rows {@code offsets[g] .. offsets[g+1]-1},
 * and each group is multiplied by its own weight matrix. This is how a dropless MoE layer runs its experts: tokens
 * sorted by expert, one GEMM per expert over exactly its tokens, no padding and no per-token loop.
 *
 * <p>Layouts: x [rows, in], w [groups, out, in] (PyTorch's Linear layout per group), y [rows, out].
 */
public final class GroupedGemm {
    /** Below this many rows per thread, whole groups run in parallel rather than each GEMM splitting its own work. */
    private static final int SMALL_ROWS = 64;
    /** The fewest rows a group is cut into when the rows are shared among threads. */
    static final int MIN_PIECE = 64;
    /**
     * Pieces of MIN_PIECE rows must stay above the size below which {@link Gemm} switches to its unpacked path
     * (32^3 multiply-adds), or a cut piece could be summed differently from its whole group.
     */
    private static final long SMALL_PIECE_MACS = 1L << 16;
    /** Whole groups are shared among threads when no thread gets more than this many times its even share. */
    private static final double BALANCED = 1.15;

    private GroupedGemm() {}

    /** Adds bias row g ([groups, out]) to the rows of group g of y ([rows, out]), in place. */
    public static void addGroupBias(Tensor y, Tensor bias, int[] offsets) {
        int out = y.dim(1);
        Storage ys = y.storage(), bs = bias.storage();
        for (int g = 0; g + 1 < offsets.length; g++) {
            for (int r = offsets[g]; r < offsets[g + 1]; r++) {
                for (int j = 0; j < out; j++) {
                    int yi = y.offset() + r * out + j;
                    ys.set(yi, ys.get(yi) + bs.get(bias.storageIndex(g * out + j)));
                }
            }
        }
    }

    /** The bias gradient: rows of dy summed within each group, [groups, out]. */
    public static Tensor groupBiasGradient(Tensor dy, int[] offsets) {
        int out = dy.dim(1);
        Tensor db = dy.newZeros(offsets.length - 1, out);
        Tensor dyc = dy.contiguous();
        Storage ds = dyc.storage(), bs = db.storage();
        for (int g = 0; g + 1 < offsets.length; g++) {
            for (int r = offsets[g]; r < offsets[g + 1]; r++) {
                for (int j = 0; j < out; j++) bs.set(g * out + j, bs.get(g * out + j) + ds.get(dyc.offset() + r * out + j));
            }
        }
        return db;
    }

    /** y = x_g w_g^T for each group g. */
    public static Tensor forward(Tensor x, Tensor w, int[] offsets) {
        int[] d = check("groupedGemm", x, w, offsets);
        int rows = d[0], in = d[1], out = d[2];
        Tensor y = x.newZeros(rows, out);
        Tensor xc = x.contiguous(), wc = w.contiguous();
        eachRowPiece(offsets, (long) in * out, (g, r0, r1, threads) -> gemm(false, true, r1 - r0, out, in,
                xc, xc.offset() + r0 * in, in, wc, wc.offset() + g * out * in, in, y, r0 * out, out, threads));
        return y;
    }

    /** dx_g = dy_g w_g: the gradient with respect to x, [rows, in]. */
    public static Tensor backwardInput(Tensor dy, Tensor w, int[] offsets) {
        checkGroups("groupedGemm backward", "w", w, offsets);
        int out = w.dim(1), in = w.dim(2);
        int rows = dy.dim(0);
        checkRows("groupedGemm backward", dy, out, offsets);
        Tensor dx = dy.newZeros(rows, in);
        Tensor dyc = dy.contiguous(), wc = w.contiguous();
        eachRowPiece(offsets, (long) in * out, (g, r0, r1, threads) -> gemm(false, false, r1 - r0, in, out,
                dyc, dyc.offset() + r0 * out, out, wc, wc.offset() + g * out * in, in, dx, r0 * in, in, threads));
        return dx;
    }

    /** dw_g = dy_g^T x_g: the gradient with respect to w, [groups, out, in]; groups without rows get zeros. */
    public static Tensor backwardWeight(Tensor dy, Tensor x, int[] offsets) {
        int groups = offsets.length - 1;
        checkRows("groupedGemm backward", x, -1, offsets);
        checkRows("groupedGemm backward", dy, -1, offsets);
        int out = dy.dim(1), in = x.dim(1);
        Tensor dw = x.newZeros(groups, out, in);
        Tensor dyc = dy.contiguous(), xc = x.contiguous();
        // The rows are this product's depth: a group is never split, so each weight gradient is summed in one order.
        eachWholeGroup(offsets, (g, threads) -> {
            int n = offsets[g + 1] - offsets[g];
            gemm(true, false, out, in, n, dyc, dyc.offset() + offsets[g] * out, out, xc, xc.offset() + offsets[g] * in,
                    in, dw, g * out * in, in, threads);
        });
        return dw;
    }

    /**
     * The gradients {dGate, dUp} of {@code h = silu(gate) * up} ([rows, hidden] each) when h feeds the down
     * projection downW [groups, out, hidden] and dy [rows, out] is the gradient of its output: {@code dh_g = dy_g
     * downW_g} is computed with the SwiGLU backward as its epilogue, which overwrites each block of dh with dGate
     * while it is in cache, so dh is never stored whole. The same bits as {@link #backwardInput} then {@link
     * GluKernels#swigluBackward} (which is what other dtypes and the scalar backend run).
     */
    public static Tensor[] backwardSwiglu(Tensor dy, Tensor downW, Tensor gate, Tensor up, int[] offsets) {
        checkGroups("groupedSwiglu backward", "down weights", downW, offsets);
        int out = downW.dim(1), hidden = downW.dim(2);
        checkRows("groupedSwiglu backward", dy, out, offsets);
        checkRows("groupedSwiglu backward", gate, hidden, offsets);
        if (!up.sameShape(gate)) throw ShapeException.of("groupedSwiglu backward", "gate and up differ", gate.shape(), up.shape());
        boolean fresh = gate.isContiguous() && up.isContiguous() && gate.offset() == 0 && up.offset() == 0;
        if (!fresh || !floats(dy, downW, gate, up)) {
            return GluKernels.swigluBackward(gate, up, backwardInput(dy, downW, offsets));
        }
        int rows = dy.dim(0);
        Tensor dGate = dy.newZeros(rows, hidden), dUp = dy.newZeros(rows, hidden);
        GemmEpilogue swiglu = GluKernels.swigluBackwardEpilogue(gate.floats(), up.floats(), dUp.floats());
        Tensor dyc = dy.contiguous(), wc = downW.contiguous();
        eachRowPiece(offsets, (long) out * hidden, (g, r0, r1, threads) -> Gemm.sgemm(new GemmProblem(false, false,
                r1 - r0, hidden, out, 1f, dyc.floats(), dyc.offset() + r0 * out, out, wc.floats(),
                wc.offset() + g * out * hidden, hidden, 0f, dGate.floats(), r0 * hidden, hidden, swiglu), threads));
        return new Tensor[] {dGate, dUp};
    }

    /**
     * {@code dx += dy_g w_g} in place for each group: a second gradient with respect to x summed into the first by
     * the GEMM itself (beta = 1), without a tensor for it. dx must be contiguous [rows, in]. With {@code out <=
     * 1024} (one depth block) the same bits as adding {@link #backwardInput}; deeper, the blocks add onto dx one
     * after another.
     */
    public static void backwardInputAdd(Tensor dy, Tensor w, int[] offsets, Tensor dx) {
        checkGroups("groupedGemm backward", "w", w, offsets);
        int out = w.dim(1), in = w.dim(2);
        checkRows("groupedGemm backward", dy, out, offsets);
        checkRows("groupedGemm backward", dx, in, offsets);
        if (!dx.isContiguous()) throw ShapeException.of("groupedGemm backward", "dx must be contiguous", dx.shape());
        if (!floats(dy, w, dx)) {
            Elementwise.addInPlace(dx, backwardInput(dy, w, offsets));
            return;
        }
        Tensor dyc = dy.contiguous(), wc = w.contiguous();
        eachRowPiece(offsets, (long) in * out, (g, r0, r1, threads) -> Gemm.sgemm(new GemmProblem(false, false,
                r1 - r0, in, out, 1f, dyc.floats(), dyc.offset() + r0 * out, out, wc.floats(), wc.offset() + g * out * in,
                in, 1f, dx.floats(), dx.offset() + r0 * in, in), threads));
    }

    /** Whether the float GEMM runs: the vector backend and F32 throughout (else the reference, in any dtype). */
    private static boolean floats(Tensor... ts) {
        if (!Backend.vector()) return false;
        for (Tensor t : ts) if (t.dtype() != DType.F32) return false;
        return true;
    }

    /** A GEMM over rows [r0, r1) of group g; {@code threads} false keeps it on the calling thread. */
    private interface RowPiece {
        void run(int group, int r0, int r1, boolean threads);
    }

    /** A GEMM over all of group g's rows. */
    private interface WholeGroup {
        void run(int group, boolean threads);
    }

    /**
     * Splits the rows (all groups together) into one equal share per thread, each share running its pieces of
     * groups one after another on its own thread. One GEMM per group split across threads would pack the weight
     * in every thread and meet at a barrier per group; this packs each weight once per share and meets once.
     * A group is cut only where both sides keep {@link #MIN_PIECE} rows, so every piece takes the same GEMM path
     * as its whole group, and a row's result does not depend on the thread count.
     */
    private static void eachRowPiece(int[] offsets, long macsPerRow, RowPiece body) {
        int groups = offsets.length - 1;
        int rows = offsets[groups];
        int parts = Parallel.threads();
        if (parts == 1 || rows <= SMALL_ROWS * parts) {
            eachWholeGroup(offsets, (g, threads) -> body.run(g, offsets[g], offsets[g + 1], threads));
            return;
        }
        boolean cut = MIN_PIECE * macsPerRow > SMALL_PIECE_MACS;
        int[] bounds = new int[parts + 1];
        for (int c = 0; c <= parts; c++) bounds[c] = snap(offsets, (int) ((long) rows * c / parts), cut);
        Parallel.forChunks(parts, parts, (c, unusedFrom, unusedTo) -> {
            int from = bounds[c], to = bounds[c + 1];
            for (int g = 0; g < groups && from < to; g++) {
                int r0 = Math.max(from, offsets[g]), r1 = Math.min(to, offsets[g + 1]);
                if (r0 < r1) body.run(g, r0, r1, false);
            }
        });
    }

    /** A share boundary moved to the nearest group edge when it would leave a piece shorter than MIN_PIECE. */
    private static int snap(int[] offsets, int row, boolean cut) {
        for (int g = 0; g + 1 < offsets.length; g++) {
            int lo = offsets[g], hi = offsets[g + 1];
            if (row <= lo || row >= hi) continue;
            if (cut && row - lo >= MIN_PIECE && hi - row >= MIN_PIECE) return row;
            return row - lo <= hi - row ? lo : hi;
        }
        return row;
    }

    /**
     * Whole groups: with few rows (decoding: a few tokens per expert) or groups that share out evenly, one thread
     * per contiguous run of groups; otherwise one group after another, each GEMM using every thread. A group's
     * result is the same either way.
     */
    private static void eachWholeGroup(int[] offsets, WholeGroup body) {
        int groups = offsets.length - 1;
        int rows = offsets[groups];
        int parts = Math.min(Parallel.threads(), groups);
        if (parts > 1 && rows <= SMALL_ROWS * Parallel.threads()) {
            Parallel.forRange(groups, 1, (from, to) -> {
                for (int g = from; g < to; g++) if (offsets[g] < offsets[g + 1]) body.run(g, false);
            });
            return;
        }
        int[] bounds = new int[parts + 1];
        int largest = 0;
        for (int c = 1; c <= parts; c++) {
            bounds[c] = c == parts ? groups : nearestGroupEdge(offsets, (int) ((long) rows * c / parts));
            bounds[c] = Math.max(bounds[c], bounds[c - 1]);
            largest = Math.max(largest, offsets[bounds[c]] - offsets[bounds[c - 1]]);
        }
        if (parts > 1 && largest <= BALANCED * rows / parts) {
            Parallel.forChunks(parts, parts, (c, unusedFrom, unusedTo) -> {
                for (int g = bounds[c]; g < bounds[c + 1]; g++) if (offsets[g] < offsets[g + 1]) body.run(g, false);
            });
        } else {
            for (int g = 0; g < groups; g++) if (offsets[g] < offsets[g + 1]) body.run(g, true);
        }
    }

    /** The group index whose starting row is closest to {@code row}. */
    private static int nearestGroupEdge(int[] offsets, int row) {
        int best = 0;
        for (int g = 1; g < offsets.length; g++) {
            if (Math.abs(offsets[g] - row) < Math.abs(offsets[best] - row)) best = g;
        }
        return best;
    }

    private static void gemm(boolean ta, boolean tb, int m, int n, int k, Tensor a, int offA, int lda, Tensor b,
            int offB, int ldb, Tensor c, int offC, int ldc, boolean threads) {
        if (floats(a, b, c)) {
            Gemm.sgemm(new GemmProblem(ta, tb, m, n, k, 1f, a.floats(), offA, lda, b.floats(), offB, ldb, 0f,
                    c.floats(), offC, ldc), threads);
        } else {
            Storage sa = a.storage(), sb = b.storage(), sc = c.storage();
            Gemm.reference(ta, tb, m, n, k, 1.0, sa, offA, lda, sb, offB, ldb, 0.0, sc, offC, ldc);
        }
    }

    /** t must be [rows, cols] (any cols when -1) with rows = the last offset, and the offsets must not decrease. */
    /** Weights {@code w} must be [groups, out, in] with one group per pair of offsets. */
    private static void checkGroups(String op, String name, Tensor w, int[] offsets) {
        if (w.rank() != 3 || w.dim(0) + 1 != offsets.length) {
            throw ShapeException.of(op, name + " must be [groups, out, in] with one group per offset pair ("
                    + offsets.length + " offsets)", w.shape());
        }
    }

    private static void checkRows(String op, Tensor t, int cols, int[] offsets) {
        if (t.rank() != 2 || (cols >= 0 && t.dim(1) != cols) || offsets.length < 2 || offsets[0] != 0
                || offsets[offsets.length - 1] != t.dim(0)) {
            throw ShapeException.of(op, "expects [rows, " + (cols >= 0 ? cols : "cols") + "] with rows = the last of "
                    + "the offsets, which start at 0", t.shape());
        }
        for (int g = 0; g + 1 < offsets.length; g++) {
            if (offsets[g + 1] < offsets[g]) throw new ShapeException(op, "offsets must not decrease (group " + g + ")");
        }
    }

    /** Validates shapes and offsets; returns {rows, in, out}. */
    static int[] check(String op, Tensor x, Tensor w, int[] offsets) {
        if (x.rank() != 2 || w.rank() != 3) {
            throw ShapeException.of(op, "expects x [rows, in] and w [groups, out, in]", x.shape(), w.shape());
        }
        if (x.dim(1) != w.dim(2)) throw ShapeException.of(op, "x and w disagree on the input size", x.shape(), w.shape());
        if (offsets.length != w.dim(0) + 1 || offsets[0] != 0 || offsets[offsets.length - 1] != x.dim(0)) {
            throw new ShapeException(op, "offsets must run from 0 to rows=" + x.dim(0) + " with one entry per group plus one"
                    + " (got " + offsets.length + " offsets for " + w.dim(0) + " groups)");
        }
        for (int g = 0; g + 1 < offsets.length; g++) {
            if (offsets[g + 1] < offsets[g]) throw new ShapeException(op, "offsets must not decrease (group " + g + ")");
        }
        return new int[] {x.dim(0), x.dim(1), w.dim(1)};
    }
}
