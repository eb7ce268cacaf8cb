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
    /** Below this many rows in all, groups run in parallel rather than each GEMM splitting its own work. */
    private static final int SMALL_ROWS = 64;

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
        eachGroup(offsets, rows, g -> {
            int n = offsets[g + 1] - offsets[g];
            if (n == 0) return;
            gemm(false, true, n, out, in, xc, xc.offset() + offsets[g] * in, in, wc, wc.offset() + g * out * in, in,
                    0, y, offsets[g] * out, out);
        });
        return y;
    }

    /** dx_g = dy_g w_g: the gradient with respect to x, [rows, in]. */
    public static Tensor backwardInput(Tensor dy, Tensor w, int[] offsets) {
        int out = w.dim(1), in = w.dim(2);
        int rows = dy.dim(0);
        if (w.dim(0) + 1 != offsets.length) throw new ShapeException("groupedGemm", "offsets do not match the groups");
        Tensor dx = dy.newZeros(rows, in);
        Tensor dyc = dy.contiguous(), wc = w.contiguous();
        eachGroup(offsets, rows, g -> {
            int n = offsets[g + 1] - offsets[g];
            if (n == 0) return;
            gemm(false, false, n, in, out, dyc, dyc.offset() + offsets[g] * out, out, wc, wc.offset() + g * out * in,
                    in, 0, dx, offsets[g] * in, in);
        });
        return dx;
    }

    /** dw_g = dy_g^T x_g: the gradient with respect to w, [groups, out, in]; groups without rows get zeros. */
    public static Tensor backwardWeight(Tensor dy, Tensor x, int[] offsets) {
        int groups = offsets.length - 1;
        int out = dy.dim(1), in = x.dim(1);
        Tensor dw = x.newZeros(groups, out, in);
        Tensor dyc = dy.contiguous(), xc = x.contiguous();
        eachGroup(offsets, x.dim(0), g -> {
            int n = offsets[g + 1] - offsets[g];
            if (n == 0) return;
            gemm(true, false, out, in, n, dyc, dyc.offset() + offsets[g] * out, out, xc, xc.offset() + offsets[g] * in,
                    in, 0, dw, g * out * in, in);
        });
        return dw;
    }

    private interface GroupBody {
        void run(int group);
    }

    /**
     * Many small groups (decoding: a few tokens per expert) run one group per task; large groups run one after
     * another and let each GEMM use every thread. Each group writes its own rows, so the result is the same.
     */
    private static void eachGroup(int[] offsets, int rows, GroupBody body) {
        int groups = offsets.length - 1;
        if (rows <= SMALL_ROWS * Parallel.threads()) {
            Parallel.forRange(groups, 1, (from, to) -> {
                for (int g = from; g < to; g++) body.run(g);
            });
        } else {
            for (int g = 0; g < groups; g++) body.run(g);
        }
    }

    private static void gemm(boolean ta, boolean tb, int m, int n, int k, Tensor a, int offA, int lda, Tensor b,
            int offB, int ldb, float beta, Tensor c, int offC, int ldc) {
        if (Backend.vector() && a.dtype() == DType.F32 && b.dtype() == DType.F32 && c.dtype() == DType.F32) {
            Gemm.sgemm(ta, tb, m, n, k, 1f, a.floats(), offA, lda, b.floats(), offB, ldb, beta, c.floats(), offC, ldc);
        } else {
            Storage sa = a.storage(), sb = b.storage(), sc = c.storage();
            Gemm.reference(ta, tb, m, n, k, 1.0, sa, offA, lda, sb, offB, ldb, beta, sc, offC, ldc);
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
