package org.moe4j.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;

/**
 * Reductions over a set of axes: sum, mean, max (with the position of the first maximum) and argmax, plus
 * {@link #sumToShape}, which undoes broadcasting for gradients.
 *
 * <p>The fast path sees the input as {@code [outer, reduced, inner]}: directly when the reduced axes are adjacent
 * and the data contiguous, otherwise after moving the reduced axes last. Each output element is summed in one
 * fixed order (a long row in fixed blocks), so the result never depends on the thread count.
 */
public final class Reduce {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int BLOCK = 1 << 12; // a long row is summed in blocks of this many, in order
    private static final int GRAIN = 1 << 15;

    private Reduce() {}

    /** The maxima and, per output element, the row-major position of the first maximum within the reduced axes. */
    public record MaxResult(Tensor values, int[] positions) {}

    /** Sum over {@code axes} (negative ones count from the end; none given means nothing is reduced). */
    public static Tensor sum(Tensor x, int[] axes, boolean keepDim) {
        Plan plan = Plan.of("sum", x.shape(), axes, keepDim);
        if (!Elementwise.floatPath(x)) return sumReference(x, axes, keepDim);
        return sumFloat(x, plan);
    }

    /** Sum of all elements, as a rank-0 tensor. */
    public static Tensor sum(Tensor x) {
        return sum(x, allAxes(x.rank()), false);
    }

    /** Mean over {@code axes}; a mean over no elements is NaN, as 0/0. */
    public static Tensor mean(Tensor x, int[] axes, boolean keepDim) {
        Plan plan = Plan.of("mean", x.shape(), axes, keepDim);
        if (!Elementwise.floatPath(x)) return meanReference(x, axes, keepDim);
        Tensor out = sumFloat(x, plan);
        float[] o = out.floats();
        float count = plan.reducedCount;
        for (int i = 0; i < o.length; i++) o[i] /= count;
        return out;
    }

    /** Mean of all elements, as a rank-0 tensor. */
    public static Tensor mean(Tensor x) {
        return mean(x, allAxes(x.rank()), false);
    }

    /** Max over {@code axes}; ties (and NaN, which counts as the largest) go to the lowest position. */
    public static MaxResult max(Tensor x, int[] axes, boolean keepDim) {
        Plan plan = Plan.of("max", x.shape(), axes, keepDim);
        if (plan.reducedCount == 0 && plan.outCount > 0) {
            throw ShapeException.of("max", "cannot take the max over an empty axis " + Arrays.toString(axes), x.shape());
        }
        if (!Elementwise.floatPath(x)) return maxReference(x, axes, keepDim);
        return maxFloat(x, plan);
    }

    /** The index of the first maximum along one axis. */
    public static IntTensor argmax(Tensor x, int axis, boolean keepDim) {
        MaxResult r = max(x, new int[] {axis}, keepDim);
        return new IntTensor(r.positions(), r.values().shape());
    }

    /**
     * The gradient of {@link #max}: {@code grad} (the output's shape, with or without kept axes) routed to the
     * position of each maximum, zeros elsewhere.
     */
    public static Tensor maxBackward(Tensor grad, int[] inputShape, int[] axes, int[] positions) {
        Plan plan = Plan.of("max backward", inputShape, axes, true);
        if (grad.numel() != plan.outCount || positions.length != plan.outCount) {
            throw ShapeException.of("max backward", "gradient does not match the reduced shape", grad.shape(),
                    plan.outShape);
        }
        Tensor dx = grad.newZeros(inputShape);
        var sg = grad.storage();
        var sd = dx.storage();
        for (int a = 0; a < plan.outCount; a++) sd.set(plan.inputIndex(a, positions[a]), sg.get(grad.storageIndex(a)));
        return dx;
    }

    /**
     * Sums a broadcast gradient back to the shape of the operand that was broadcast: over leading axes the
     * operand lacked and over axes where it had size 1. Returns {@code grad} itself when nothing is reduced.
     */
    public static Tensor sumToShape(Tensor grad, int[] shape) {
        int[] g = grad.shape();
        int lead = g.length - shape.length;
        if (lead < 0) throw ShapeException.of("sumToShape", "target has a higher rank than the gradient", g, shape);
        int[] axes = new int[g.length];
        int n = 0;
        for (int i = 0; i < g.length; i++) {
            int target = i < lead ? 1 : shape[i - lead];
            if (target != g[i]) {
                if (target != 1) throw ShapeException.of("sumToShape", "gradient does not broadcast from", g, shape);
                axes[n++] = i;
            }
        }
        if (n == 0) return lead == 0 ? grad : grad.reshape(shape);
        return sum(grad, Arrays.copyOf(axes, n), true).reshape(shape);
    }

    private static int[] allAxes(int rank) {
        int[] axes = new int[rank];
        for (int i = 0; i < rank; i++) axes[i] = i;
        return axes;
    }

    // ---- scalar references -----------------------------------------------------------------------------------

    static Tensor sumReference(Tensor x, int[] axes, boolean keepDim) {
        Plan plan = Plan.of("sum", x.shape(), axes, keepDim);
        double[] acc = new double[plan.outCount];
        var sx = x.storage();
        for (int i = 0; i < x.numel(); i++) acc[plan.outputIndexOf(i)] += sx.get(x.storageIndex(i));
        return fill(x.newZeros(plan.outShape), acc);
    }

    static Tensor meanReference(Tensor x, int[] axes, boolean keepDim) {
        Plan plan = Plan.of("mean", x.shape(), axes, keepDim);
        double[] acc = sumReference(x, axes, keepDim).toDoubleArray();
        for (int i = 0; i < acc.length; i++) acc[i] /= plan.reducedCount;
        return fill(x.newZeros(plan.outShape), acc);
    }

    static MaxResult maxReference(Tensor x, int[] axes, boolean keepDim) {
        Plan plan = Plan.of("max", x.shape(), axes, keepDim);
        double[] best = new double[plan.outCount];
        int[] pos = new int[plan.outCount];
        boolean[] seen = new boolean[plan.outCount];
        var sx = x.storage();
        for (int i = 0; i < x.numel(); i++) { // row-major order, so the first maximum wins
            int a = plan.outputIndexOf(i);
            double v = sx.get(x.storageIndex(i));
            if (!seen[a] || greater(v, best[a])) {
                seen[a] = true;
                best[a] = v;
                pos[a] = plan.positionOf(i);
            }
        }
        return new MaxResult(fill(x.newZeros(plan.outShape), best), pos);
    }

    /** The max order: NaN above everything, so a NaN input shows in the result. */
    private static boolean greater(double v, double best) {
        return v > best || (Double.isNaN(v) && !Double.isNaN(best));
    }

    private static Tensor fill(Tensor t, double[] values) {
        var s = t.storage();
        for (int i = 0; i < values.length; i++) s.set(i, values[i]);
        return t;
    }

    // ---- float fast paths ------------------------------------------------------------------------------------

    /** x as a contiguous float block [outer, reduced, inner]: {@code data[off + (a * reduced + r) * inner + b]}. */
    private record Block(float[] data, int off, int outer, int reduced, int inner) {}

    private static Block block(Tensor x, Plan plan) {
        if (x.isContiguous() && plan.adjacent) {
            return new Block(x.floats(), x.offset(), plan.adjOuter, plan.reducedCount, plan.adjInner);
        }
        Tensor moved = x.permute(plan.keptThenReduced).contiguous();
        return new Block(moved.floats(), moved.offset(), plan.outCount, plan.reducedCount, 1);
    }

    private static Tensor sumFloat(Tensor x, Plan plan) {
        Tensor out = Tensor.zeros(plan.outShape);
        if (plan.outCount == 0) return out;
        float[] o = out.floats();
        Block b = block(x, plan);
        int n = b.reduced;
        if (b.inner == 1 && b.outer == 1) {
            o[0] = longRowSum(b.data, b.off, n);
        } else if (b.inner == 1) {
            Parallel.forRange(b.outer, Math.max(1, GRAIN / Math.max(1, n)), (from, to) -> {
                for (int a = from; a < to; a++) o[a] = rowSum(b.data, b.off + a * n, n);
            });
        } else {
            int inner = b.inner;
            // out[a, j] = sum over r of x[a, r, j], r ascending; chunks split the output elements
            Parallel.forRange(b.outer * inner, Math.max(S.length(), GRAIN / Math.max(1, n)), (from, to) -> {
                for (int k = from; k < to;) {
                    int a = k / inner;
                    int j0 = k - a * inner;
                    int j1 = Math.min(inner, j0 + (to - k));
                    for (int r = 0; r < n; r++) addRow(o, a * inner + j0, b.data, b.off + (a * n + r) * inner + j0, j1 - j0);
                    k += j1 - j0;
                }
            });
        }
        return out;
    }

    /** A row sum in fixed blocks, parallel over blocks when long; the same result as {@link #rowSum}. */
    private static float longRowSum(float[] x, int off, int n) {
        int blocks = (n + BLOCK - 1) / BLOCK;
        if (blocks <= 1) return rowSum(x, off, n);
        float[] partial = new float[blocks];
        Parallel.forRange(blocks, Math.max(1, GRAIN / BLOCK), (from, to) -> {
            for (int k = from; k < to; k++) partial[k] = blockSum(x, off + k * BLOCK, Math.min(BLOCK, n - k * BLOCK));
        });
        float total = 0;
        for (float p : partial) total += p;
        return total;
    }

    /** Sum of {@code x[off .. off+n)}: block sums added in order. */
    static float rowSum(float[] x, int off, int n) {
        float total = 0;
        for (int start = 0; start < n; start += BLOCK) total += blockSum(x, off + start, Math.min(BLOCK, n - start));
        return total;
    }

    private static float blockSum(float[] x, int off, int n) {
        int l = S.length();
        int i = 0;
        FloatVector acc0 = FloatVector.zero(S);
        FloatVector acc1 = FloatVector.zero(S);
        for (int upper = (n / (2 * l)) * 2 * l; i < upper; i += 2 * l) {
            acc0 = acc0.add(FloatVector.fromArray(S, x, off + i));
            acc1 = acc1.add(FloatVector.fromArray(S, x, off + i + l));
        }
        for (int upper = S.loopBound(n); i < upper; i += l) acc0 = acc0.add(FloatVector.fromArray(S, x, off + i));
        float s = VectorMath.sumLanes(acc0.add(acc1));
        for (; i < n; i++) s += x[off + i];
        return s;
    }

    private static void addRow(float[] o, int oo, float[] x, int ox, int n) {
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector.fromArray(S, o, oo + i).add(FloatVector.fromArray(S, x, ox + i)).intoArray(o, oo + i);
        }
        for (; i < n; i++) o[oo + i] += x[ox + i];
    }

    private static MaxResult maxFloat(Tensor x, Plan plan) {
        Tensor out = Tensor.zeros(plan.outShape);
        int[] pos = new int[plan.outCount];
        if (plan.outCount == 0) return new MaxResult(out, pos);
        float[] o = out.floats();
        Block b = block(x, plan);
        int n = b.reduced;
        int inner = b.inner;
        Parallel.forRange(b.outer, Math.max(1, GRAIN / Math.max(1, n * inner)), (from, to) -> {
            for (int a = from; a < to; a++) {
                if (inner == 1) {
                    int p = rowArgmax(b.data, b.off + a * n, n);
                    o[a] = b.data[b.off + a * n + p];
                    pos[a] = p;
                } else {
                    columnMax(b.data, b.off + a * n * inner, n, inner, o, pos, a * inner);
                }
            }
        });
        return new MaxResult(out, pos);
    }

    /** The position of the first maximum of a row: the max by vectors, then a scan for its first occurrence. */
    static int rowArgmax(float[] x, int off, int n) {
        int l = S.length();
        int i = 0;
        float best;
        if (n >= l) {
            FloatVector m = FloatVector.fromArray(S, x, off);
            for (i = l; i <= n - l; i += l) m = m.max(FloatVector.fromArray(S, x, off + i));
            best = m.reduceLanes(VectorOperators.MAX);
        } else {
            best = x[off];
        }
        for (; i < n; i++) best = Math.max(best, x[off + i]); // Math.max propagates NaN, as the lanes do
        boolean nan = Float.isNaN(best);
        for (int k = 0; k < n; k++) {
            float v = x[off + k];
            if (nan ? Float.isNaN(v) : v == best) return k;
        }
        return 0;
    }

    private static void columnMax(float[] x, int off, int n, int inner, float[] o, int[] pos, int oo) {
        System.arraycopy(x, off, o, oo, inner);
        for (int r = 1; r < n; r++) {
            int base = off + r * inner;
            for (int j = 0; j < inner; j++) {
                float v = x[base + j];
                float best = o[oo + j];
                if (v > best || (Float.isNaN(v) && !Float.isNaN(best))) {
                    o[oo + j] = v;
                    pos[oo + j] = r;
                }
            }
        }
    }

    // ---- the layout of one reduction -------------------------------------------------------------------------

    /** Which axes are reduced, the output shape, and the index arithmetic shared by the kernels. */
    private static final class Plan {
        final int[] inShape;
        final boolean[] reducedAxis;
        final int[] outShape;
        final int outCount;
        final int reducedCount;
        final int[] keptThenReduced; // a permutation moving the reduced axes last, each group in order
        final boolean adjacent; // the reduced axes of size > 1 are next to each other
        final int adjOuter; // when adjacent: the product of sizes before them
        final int adjInner; // and after them
        private final int[] outStride; // per input axis: its stride in the output (0 for reduced axes)
        private final int[] posStride; // per input axis: its stride within the reduced block (0 for kept axes)

        private Plan(int[] inShape, boolean[] reducedAxis, boolean keepDim) {
            this.inShape = inShape;
            this.reducedAxis = reducedAxis;
            int rank = inShape.length;
            int kept = 0;
            for (boolean r : reducedAxis) if (!r) kept++;
            outShape = new int[keepDim ? rank : kept];
            keptThenReduced = new int[rank];
            outStride = new int[rank];
            posStride = new int[rank];
            int k = 0;
            int oc = 1;
            int rc = 1;
            for (int i = rank - 1; i >= 0; i--) {
                if (reducedAxis[i]) {
                    posStride[i] = rc;
                    rc *= inShape[i];
                } else {
                    outStride[i] = oc;
                    oc *= inShape[i];
                }
            }
            outCount = oc;
            reducedCount = rc;
            int ko = 0;
            for (int i = 0; i < rank; i++) {
                if (!reducedAxis[i]) keptThenReduced[k++] = i;
                if (keepDim) outShape[i] = reducedAxis[i] ? 1 : inShape[i];
                else if (!reducedAxis[i]) outShape[ko++] = inShape[i];
            }
            for (int i = 0; i < rank; i++) if (reducedAxis[i]) keptThenReduced[k++] = i;
            // adjacent: among axes of size > 1, the reduced ones form one run
            int first = -1;
            int last = -1;
            boolean run = true;
            for (int i = 0; i < rank; i++) {
                if (inShape[i] == 1) continue;
                if (reducedAxis[i]) {
                    if (first < 0) first = i;
                    else if (last >= 0 && hasKeptBetween(last, i)) run = false;
                    last = i;
                }
            }
            adjacent = run;
            int before = 1;
            int after = 1;
            if (first >= 0) {
                for (int i = 0; i < first; i++) before *= inShape[i];
                for (int i = last + 1; i < rank; i++) after *= inShape[i];
            } else {
                before = oc;
            }
            adjOuter = before;
            adjInner = after;
        }

        private boolean hasKeptBetween(int lo, int hi) {
            for (int i = lo + 1; i < hi; i++) if (!reducedAxis[i] && inShape[i] != 1) return true;
            return false;
        }

        static Plan of(String op, int[] shape, int[] axes, boolean keepDim) {
            boolean[] reduced = new boolean[shape.length];
            for (int axis : axes) {
                int a = Shapes.axis(op, axis, shape.length);
                if (reduced[a]) throw ShapeException.of(op, "axis " + axis + " repeated in " + Arrays.toString(axes), shape);
                reduced[a] = true;
            }
            return new Plan(shape, reduced, keepDim);
        }

        /** The output element that input element {@code flat} (row-major) reduces into. */
        int outputIndexOf(int flat) {
            int out = 0;
            for (int i = inShape.length - 1; i >= 0; i--) {
                out += (flat % inShape[i]) * outStride[i];
                flat /= inShape[i];
            }
            return out;
        }

        /** The row-major position of input element {@code flat} within its reduced block. */
        int positionOf(int flat) {
            int p = 0;
            for (int i = inShape.length - 1; i >= 0; i--) {
                p += (flat % inShape[i]) * posStride[i];
                flat /= inShape[i];
            }
            return p;
        }

        /** The row-major input index of output element {@code out} at position {@code pos} of its block. */
        int inputIndex(int out, int pos) {
            int flat = 0;
            int stride = 1;
            for (int i = inShape.length - 1; i >= 0; i--) {
                int idx = reducedAxis[i] ? (pos / posStride[i]) % inShape[i] : (out / outStride[i]) % inShape[i];
                flat += idx * stride;
                stride *= inShape[i];
            }
            return flat;
        }
    }
}
