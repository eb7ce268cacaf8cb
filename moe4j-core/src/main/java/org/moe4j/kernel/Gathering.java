package org.moe4j.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * Index kernels along one axis: {@code gather} and its adjoint {@code scatterAdd}, {@code indexSelect} and its
 * adjoint {@code indexAdd}, and embedding lookups (an index-select of weight rows).
 *
 * <p>Around the chosen axis every tensor is seen as {@code [outer, n, inner]}. Every index is checked before
 * anything is written, so a bad index raises a {@link ShapeException} that names the op, the index and the
 * bound. Outputs are fresh contiguous tensors. The scatter-adds are deterministic: each output element
 * receives its contributions in ascending index-position order whatever the thread count, because threads
 * split the {@code (outer, inner)} positions, which never collide.
 */
public final class Gathering {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int GRAIN = 1 << 14; // elements per task

    private Gathering() {}

    /** {@code [outer, n, inner]} around axis {@code a}. */
    private record Layout(int outer, int n, int inner) {
        static Layout of(int[] shape, int a) {
            int outer = 1;
            for (int d = 0; d < a; d++) outer *= shape[d];
            int inner = 1;
            for (int d = a + 1; d < shape.length; d++) inner *= shape[d];
            return new Layout(outer, shape[a], inner);
        }
    }

    // ---- gather / scatterAdd ---------------------------------------------------------------------------------

    /**
     * {@code out[.., j, ..] = x[.., index[.., j, ..], ..]} along {@code axis}; index has x's rank and x's sizes on
     * every other axis, and the output has index's shape.
     */
    public static Tensor gather(Tensor x, int axis, IntTensor index) {
        int a = checkGather("gather", x.shape(), axis, index);
        return floatPath(x) ? gatherFloat(x.contiguous(), a, index) : gatherScalar(x, a, index);
    }

    static Tensor gatherReference(Tensor x, int axis, IntTensor index) {
        return gatherScalar(x, checkGather("gather", x.shape(), axis, index), index);
    }

    /**
     * {@code x} plus {@code src} added at the positions {@code index} points to along {@code axis}
     * ({@code out[.., index[.., j, ..], ..] += src[.., j, ..]}); src has index's shape. The adjoint of gather.
     */
    public static Tensor scatterAdd(Tensor x, int axis, IntTensor index, Tensor src) {
        int a = checkScatter(x, axis, index, src);
        Tensor out = x.copy();
        if (floatPath(x)) scatterAddFloat(out, a, index, src.contiguous()); else scatterAddScalar(out, a, index, src);
        return out;
    }

    static Tensor scatterAddReference(Tensor x, int axis, IntTensor index, Tensor src) {
        int a = checkScatter(x, axis, index, src);
        Tensor out = x.copy();
        scatterAddScalar(out, a, index, src);
        return out;
    }

    private static int checkGather(String op, int[] xShape, int axis, IntTensor index) {
        int a = Shapes.axis(op, axis, xShape.length);
        int[] iShape = index.shape();
        boolean ok = iShape.length == xShape.length;
        for (int d = 0; ok && d < xShape.length; d++) ok = d == a || iShape[d] == xShape[d];
        if (!ok) {
            throw ShapeException.of(op, "index must have the input's rank and sizes on every axis but " + a, xShape,
                    iShape);
        }
        checkRange(op, index.data(), xShape[a], "axis " + a + " of size " + xShape[a]);
        return a;
    }

    private static int checkScatter(Tensor x, int axis, IntTensor index, Tensor src) {
        int a = checkGather("scatterAdd", x.shape(), axis, index);
        if (!Arrays.equals(src.shape(), index.shape())) {
            throw ShapeException.of("scatterAdd", "src must have the index's shape", src.shape(), index.shape());
        }
        checkDType("scatterAdd", x, src);
        return a;
    }

    private static Tensor gatherScalar(Tensor x, int a, IntTensor index) {
        Layout l = Layout.of(x.shape(), a);
        int m = index.shape()[a];
        Tensor xc = x.contiguous();
        Storage xs = xc.storage();
        int xo = xc.offset();
        Tensor out = x.newZeros(index.shape());
        Storage os = out.storage();
        int[] idx = index.data();
        for (int o = 0; o < l.outer; o++) {
            for (int j = 0; j < m; j++) {
                for (int i = 0; i < l.inner; i++) {
                    int p = (o * m + j) * l.inner + i;
                    os.set(p, xs.get(xo + (o * l.n + idx[p]) * l.inner + i));
                }
            }
        }
        return out;
    }

    private static Tensor gatherFloat(Tensor x, int a, IntTensor index) {
        Layout l = Layout.of(x.shape(), a);
        int m = index.shape()[a];
        float[] xa = x.floats();
        int xo = x.offset();
        Tensor out = x.newZeros(index.shape());
        float[] oa = out.floats();
        int[] idx = index.data();
        int n = l.n;
        int inner = l.inner;
        int rowWork = Math.max(1, m * inner);
        Parallel.forRange(l.outer, Math.max(1, GRAIN / rowWork), (from, to) -> {
            for (int o = from; o < to; o++) {
                if (inner == 1) {
                    // Along the last axis: a hardware gather of S.length() elements of row o per step.
                    int xRow = xo + o * n;
                    int base = o * m;
                    int j = 0;
                    for (int upper = S.loopBound(m); j < upper; j += S.length()) {
                        FloatVector.fromArray(S, xa, xRow, idx, base + j).intoArray(oa, base + j);
                    }
                    for (; j < m; j++) oa[base + j] = xa[xRow + idx[base + j]];
                } else {
                    for (int j = 0; j < m; j++) {
                        int p = (o * m + j) * inner;
                        for (int i = 0; i < inner; i++) oa[p + i] = xa[xo + (o * n + idx[p + i]) * inner + i];
                    }
                }
            }
        });
        return out;
    }

    private static void scatterAddScalar(Tensor out, int a, IntTensor index, Tensor src) {
        Layout l = Layout.of(out.shape(), a);
        int m = index.shape()[a];
        Storage os = out.storage();
        Tensor sc = src.contiguous();
        Storage ss = sc.storage();
        int so = sc.offset();
        int[] idx = index.data();
        for (int o = 0; o < l.outer; o++) {
            for (int j = 0; j < m; j++) {
                for (int i = 0; i < l.inner; i++) {
                    int p = (o * m + j) * l.inner + i;
                    int q = (o * l.n + idx[p]) * l.inner + i;
                    os.set(q, os.get(q) + ss.get(so + p));
                }
            }
        }
    }

    private static void scatterAddFloat(Tensor out, int a, IntTensor index, Tensor src) {
        Layout l = Layout.of(out.shape(), a);
        int m = index.shape()[a];
        float[] oa = out.floats();
        float[] sa = src.floats();
        int so = src.offset();
        int[] idx = index.data();
        int n = l.n;
        int inner = l.inner;
        int block = innerBlock(l.outer, inner);
        int blocks = (inner + block - 1) / block;
        Parallel.forRange(l.outer * blocks, Math.max(1, GRAIN / Math.max(1, m * block)), (from, to) -> {
            for (int u = from; u < to; u++) {
                int o = u / blocks;
                int i0 = (u % blocks) * block;
                int i1 = Math.min(inner, i0 + block);
                for (int j = 0; j < m; j++) {
                    int p = (o * m + j) * inner;
                    for (int i = i0; i < i1; i++) oa[(o * n + idx[p + i]) * inner + i] += sa[so + p + i];
                }
            }
        });
    }

    // ---- indexSelect / indexAdd ------------------------------------------------------------------------------

    /** The slices {@code index[0], index[1], ...} of x along {@code axis}; index is 1-d and may repeat. */
    public static Tensor indexSelect(Tensor x, int axis, IntTensor index) {
        int a = checkSelect("indexSelect", x.shape(), axis, index);
        int[] shape = x.shape();
        shape[a] = index.numel();
        Tensor out = x.newZeros(shape);
        if (floatPath(x)) selectFloat(x.contiguous(), a, index.data(), out); else selectScalar(x, a, index.data(), out);
        return out;
    }

    static Tensor indexSelectReference(Tensor x, int axis, IntTensor index) {
        int a = checkSelect("indexSelect", x.shape(), axis, index);
        int[] shape = x.shape();
        shape[a] = index.numel();
        Tensor out = x.newZeros(shape);
        selectScalar(x, a, index.data(), out);
        return out;
    }

    /**
     * {@code x} plus slice j of {@code src} added at slice {@code index[j]} along {@code axis}; src has x's shape
     * except {@code index.numel()} on that axis. Repeated indices accumulate. The adjoint of indexSelect.
     */
    public static Tensor indexAdd(Tensor x, int axis, IntTensor index, Tensor src) {
        int a = checkIndexAdd(x, axis, index, src);
        Tensor out = x.copy();
        if (floatPath(x)) addFloat(out, a, index.data(), src.contiguous()); else addScalar(out, a, index.data(), src);
        return out;
    }

    static Tensor indexAddReference(Tensor x, int axis, IntTensor index, Tensor src) {
        int a = checkIndexAdd(x, axis, index, src);
        Tensor out = x.copy();
        addScalar(out, a, index.data(), src);
        return out;
    }

    private static int checkSelect(String op, int[] xShape, int axis, IntTensor index) {
        int a = Shapes.axis(op, axis, xShape.length);
        if (index.rank() != 1) throw ShapeException.of(op, "index must be 1-d", index.shape());
        checkRange(op, index.data(), xShape[a], "axis " + a + " of size " + xShape[a]);
        return a;
    }

    private static int checkIndexAdd(Tensor x, int axis, IntTensor index, Tensor src) {
        int[] xShape = x.shape();
        int a = checkSelect("indexAdd", xShape, axis, index);
        int[] expected = x.shape();
        expected[a] = index.numel();
        if (!Arrays.equals(src.shape(), expected)) {
            throw ShapeException.of("indexAdd", "src must have x's shape with " + index.numel() + " on axis " + a
                    + ": expected " + Arrays.toString(expected), src.shape());
        }
        checkDType("indexAdd", x, src);
        return a;
    }

    private static void selectScalar(Tensor x, int a, int[] idx, Tensor out) {
        Layout l = Layout.of(x.shape(), a);
        Tensor xc = x.contiguous();
        Storage xs = xc.storage();
        int xo = xc.offset();
        Storage os = out.storage();
        int m = idx.length;
        for (int o = 0; o < l.outer; o++) {
            for (int j = 0; j < m; j++) {
                for (int i = 0; i < l.inner; i++) {
                    os.set((o * m + j) * l.inner + i, xs.get(xo + (o * l.n + idx[j]) * l.inner + i));
                }
            }
        }
    }

    /** Each selected slice is {@code inner} contiguous floats: one arraycopy per (outer, j). */
    private static void selectFloat(Tensor x, int a, int[] idx, Tensor out) {
        Layout l = Layout.of(x.shape(), a);
        float[] xa = x.floats();
        int xo = x.offset();
        float[] oa = out.floats();
        int m = idx.length;
        int n = l.n;
        int inner = l.inner;
        if (inner == 0) return;
        Parallel.forRange(l.outer * m, Math.max(1, GRAIN / inner), (from, to) -> {
            for (int r = from; r < to; r++) {
                int o = r / m;
                int j = r - o * m;
                System.arraycopy(xa, xo + (o * n + idx[j]) * inner, oa, r * inner, inner);
            }
        });
    }

    private static void addScalar(Tensor out, int a, int[] idx, Tensor src) {
        Layout l = Layout.of(out.shape(), a);
        Storage os = out.storage();
        Tensor sc = src.contiguous();
        Storage ss = sc.storage();
        int so = sc.offset();
        int m = idx.length;
        for (int o = 0; o < l.outer; o++) {
            for (int j = 0; j < m; j++) {
                for (int i = 0; i < l.inner; i++) {
                    int q = (o * l.n + idx[j]) * l.inner + i;
                    os.set(q, os.get(q) + ss.get(so + (o * m + j) * l.inner + i));
                }
            }
        }
    }

    /** Threads split (outer, block of inner); within a unit the slices j are added in order with vector adds. */
    private static void addFloat(Tensor out, int a, int[] idx, Tensor src) {
        Layout l = Layout.of(out.shape(), a);
        float[] oa = out.floats();
        float[] sa = src.floats();
        int so = src.offset();
        int m = idx.length;
        int n = l.n;
        int inner = l.inner;
        int block = innerBlock(l.outer, inner);
        int blocks = (inner + block - 1) / block;
        Parallel.forRange(l.outer * blocks, Math.max(1, GRAIN / Math.max(1, m * block)), (from, to) -> {
            for (int u = from; u < to; u++) {
                int o = u / blocks;
                int i0 = (u % blocks) * block;
                int len = Math.min(inner, i0 + block) - i0;
                for (int j = 0; j < m; j++) {
                    int d = (o * n + idx[j]) * inner + i0;
                    int s = so + (o * m + j) * inner + i0;
                    int i = 0;
                    for (int upper = S.loopBound(len); i < upper; i += S.length()) {
                        FloatVector.fromArray(S, oa, d + i).add(FloatVector.fromArray(S, sa, s + i)).intoArray(oa, d + i);
                    }
                    for (; i < len; i++) oa[d + i] += sa[s + i];
                }
            }
        });
    }

    // ---- embedding -------------------------------------------------------------------------------------------

    /** Rows of {@code weight} ([vocab, dim]) for each id: the result has shape {@code ids.shape() + [dim]}. */
    public static Tensor embedding(Tensor weight, IntTensor ids) {
        checkEmbedding(weight.shape(), ids);
        int dim = weight.dim(1);
        Tensor out = weight.newZeros(embeddedShape(ids, dim));
        Tensor flat = out.reshape(ids.numel(), dim);
        if (floatPath(weight)) selectFloat(weight.contiguous(), 0, ids.data(), flat);
        else selectScalar(weight, 0, ids.data(), flat);
        return out;
    }

    /** The weight gradient of an embedding lookup: {@code grad} rows added into a zero [vocab, dim] tensor. */
    public static Tensor embeddingBackward(Tensor grad, IntTensor ids, int vocab) {
        int dim = grad.rank() == 0 ? 0 : grad.dim(-1);
        if (!Arrays.equals(grad.shape(), embeddedShape(ids, dim))) {
            throw ShapeException.of("embedding", "gradient must have shape ids + [dim]", grad.shape(), ids.shape());
        }
        checkIds(ids, vocab);
        Tensor dw = grad.newZeros(vocab, dim);
        Tensor src = grad.reshape(ids.numel(), dim);
        if (floatPath(grad)) addFloat(dw, 0, ids.data(), src.contiguous()); else addScalar(dw, 0, ids.data(), src);
        return dw;
    }

    private static void checkEmbedding(int[] wShape, IntTensor ids) {
        if (wShape.length != 2) throw ShapeException.of("embedding", "weight must be [vocab, dim]", wShape);
        checkIds(ids, wShape[0]);
    }

    private static void checkIds(IntTensor ids, int vocab) {
        int[] data = ids.data();
        for (int p = 0; p < data.length; p++) {
            if (data[p] < 0 || data[p] >= vocab) {
                throw new ShapeException("embedding", "id " + data[p] + " at position " + p
                        + " is out of range for a vocabulary of " + vocab + " rows (valid ids 0.." + (vocab - 1) + ")");
            }
        }
    }

    private static int[] embeddedShape(IntTensor ids, int dim) {
        int[] s = Arrays.copyOf(ids.shape(), ids.rank() + 1);
        s[ids.rank()] = dim;
        return s;
    }

    // ---- shared ----------------------------------------------------------------------------------------------

    private static void checkRange(String op, int[] idx, int bound, String what) {
        for (int p = 0; p < idx.length; p++) {
            if (idx[p] < 0 || idx[p] >= bound) {
                throw new ShapeException(op, "index " + idx[p] + " at position " + p + " is out of range for " + what);
            }
        }
    }

    private static void checkDType(String op, Tensor x, Tensor src) {
        if (x.dtype() != src.dtype()) throw new ShapeException(op, "x is " + x.dtype() + " but src is " + src.dtype());
    }

    /**
     * The inner block a scatter task owns: whole rows when there are enough outer rows to share out, else
     * vector-aligned pieces of the inner axis so that even one outer row (axis 0) spreads over the threads.
     */
    private static int innerBlock(int outer, int inner) {
        if (inner <= S.length() || outer >= Parallel.threads()) return Math.max(1, inner);
        int perThread = (inner + Parallel.threads() - 1) / Parallel.threads();
        return Math.max(S.length(), (perThread + S.length() - 1) / S.length() * S.length());
    }

    private static boolean floatPath(Tensor x) {
        return Backend.vector() && x.dtype() == DType.F32;
    }
}
