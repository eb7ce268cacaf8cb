package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * Softmax, log-softmax and the fused softmax cross-entropy, forward and backward. All subtract the row maximum
 * first, so large logits do not overflow. Rows run along one axis; a non-last axis is moved last (a copy) and
 * back. The float path vectorizes along the row and runs rows in parallel.
 */
public final class SoftmaxKernels {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int GRAIN = 1 << 14; // elements per task

    private SoftmaxKernels() {}

    /** The result of {@link #crossEntropy}: the mean loss, the number of rows counted, and each row's logsumexp. */
    public record CrossEntropy(double loss, int count, Tensor logSumExp) {}

    private enum Kind { SOFTMAX, LOG_SOFTMAX }

    /** {@code exp(x - max) / sum(exp(x - max))} along {@code axis}. */
    public static Tensor softmax(Tensor x, int axis) {
        return forward(Kind.SOFTMAX, "softmax", x, axis, false);
    }

    /** {@code x - max - log(sum(exp(x - max)))} along {@code axis}. */
    public static Tensor logSoftmax(Tensor x, int axis) {
        return forward(Kind.LOG_SOFTMAX, "logSoftmax", x, axis, false);
    }

    static Tensor softmaxReference(Tensor x, int axis) {
        return forward(Kind.SOFTMAX, "softmax", x, axis, true);
    }

    static Tensor logSoftmaxReference(Tensor x, int axis) {
        return forward(Kind.LOG_SOFTMAX, "logSoftmax", x, axis, true);
    }

    /** The gradient of softmax from its output y: {@code y * (g - sum(g * y))}. */
    public static Tensor softmaxBackward(Tensor y, Tensor grad, int axis) {
        return backward(Kind.SOFTMAX, "softmax backward", y, grad, axis, false);
    }

    /** The gradient of log-softmax from its output y: {@code g - exp(y) * sum(g)}. */
    public static Tensor logSoftmaxBackward(Tensor y, Tensor grad, int axis) {
        return backward(Kind.LOG_SOFTMAX, "logSoftmax backward", y, grad, axis, false);
    }

    static Tensor softmaxBackwardReference(Tensor y, Tensor grad, int axis) {
        return backward(Kind.SOFTMAX, "softmax backward", y, grad, axis, true);
    }

    static Tensor logSoftmaxBackwardReference(Tensor y, Tensor grad, int axis) {
        return backward(Kind.LOG_SOFTMAX, "logSoftmax backward", y, grad, axis, true);
    }

    // ---- row plumbing ----------------------------------------------------------------------------------------

    /** x with {@code axis} swapped to the end and made contiguous, so rows are runs of the last axis. */
    private static Tensor rowsLast(Tensor x, int a) {
        return (a == x.rank() - 1 ? x : x.transpose(a, -1)).contiguous();
    }

    /** Undoes {@link #rowsLast} on a result. */
    private static Tensor restore(Tensor rows, int a) {
        return a == rows.rank() - 1 ? rows : rows.transpose(a, -1).contiguous();
    }

    private static Tensor forward(Kind kind, String op, Tensor x, int axis, boolean reference) {
        if (x.rank() == 0) throw ShapeException.of(op, "needs at least one axis", x.shape());
        int a = Shapes.axis(op, axis, x.rank());
        Tensor in = rowsLast(x, a);
        int n = in.dim(-1);
        int rows = n == 0 ? 0 : in.numel() / n;
        Tensor out = in.newZeros(in.shape());
        if (!reference && Elementwise.floatPath(in)) {
            float[] xs = in.floats();
            float[] o = out.floats();
            int off = in.offset();
            Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(1, n)), (from, to) -> {
                for (int r = from; r < to; r++) {
                    if (kind == Kind.SOFTMAX) softmaxRow(xs, off + r * n, o, r * n, n);
                    else logSoftmaxRow(xs, off + r * n, o, r * n, n);
                }
            });
        } else {
            for (int r = 0; r < rows; r++) forwardRowReference(kind, in.storage(), in.offset() + r * n, out.storage(), r * n, n);
        }
        return restore(out, a);
    }

    private static Tensor backward(Kind kind, String op, Tensor y, Tensor grad, int axis, boolean reference) {
        if (!y.sameShape(grad)) throw ShapeException.of(op, "output and gradient shapes differ", y.shape(), grad.shape());
        if (y.rank() == 0) throw ShapeException.of(op, "needs at least one axis", y.shape());
        int a = Shapes.axis(op, axis, y.rank());
        Tensor yr = rowsLast(y, a);
        Tensor gr = rowsLast(grad, a);
        int n = yr.dim(-1);
        int rows = n == 0 ? 0 : yr.numel() / n;
        Tensor out = gr.newZeros(gr.shape());
        if (!reference && Elementwise.floatPath(yr, gr)) {
            float[] ys = yr.floats();
            float[] gs = gr.floats();
            float[] o = out.floats();
            int oy = yr.offset();
            int og = gr.offset();
            Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(1, n)), (from, to) -> {
                for (int r = from; r < to; r++) {
                    if (kind == Kind.SOFTMAX) softmaxBackwardRow(ys, oy + r * n, gs, og + r * n, o, r * n, n);
                    else logSoftmaxBackwardRow(ys, oy + r * n, gs, og + r * n, o, r * n, n);
                }
            });
        } else {
            for (int r = 0; r < rows; r++) {
                backwardRowReference(kind, yr.storage(), yr.offset() + r * n, gr.storage(), gr.offset() + r * n,
                        out.storage(), r * n, n);
            }
        }
        return restore(out, a);
    }

    // ---- scalar references, one row at a time --------------------------------------------------------------

    private static void forwardRowReference(Kind kind, Storage x, int ox, Storage o, int oo, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x.get(ox + i));
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(x.get(ox + i) - max);
        double lse = max + Math.log(sum);
        for (int i = 0; i < n; i++) {
            double v = x.get(ox + i);
            o.set(oo + i, kind == Kind.SOFTMAX ? Math.exp(v - max) / sum : v - lse);
        }
    }

    private static void backwardRowReference(Kind kind, Storage y, int oy, Storage g, int og, Storage o, int oo, int n) {
        double dot = 0;
        for (int i = 0; i < n; i++) dot += kind == Kind.SOFTMAX ? g.get(og + i) * y.get(oy + i) : g.get(og + i);
        for (int i = 0; i < n; i++) {
            double yi = y.get(oy + i);
            double gi = g.get(og + i);
            o.set(oo + i, kind == Kind.SOFTMAX ? yi * (gi - dot) : gi - Math.exp(yi) * dot);
        }
    }

    // ---- float rows ------------------------------------------------------------------------------------------

    /** The largest element of a row (NaN if any is NaN). */
    static float rowMax(float[] x, int off, int n) {
        int l = S.length();
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= l) {
            FloatVector mv = FloatVector.fromArray(S, x, off);
            for (i = l; i <= n - l; i += l) mv = mv.max(FloatVector.fromArray(S, x, off + i));
            m = mv.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    static void softmaxRow(float[] x, int off, float[] o, int oo, int n) {
        float inv = 1f / VectorMath.exp(x, off, -rowMax(x, off, n), o, oo, n);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector.fromArray(S, o, oo + i).mul(inv).intoArray(o, oo + i);
        }
        for (; i < n; i++) o[oo + i] *= inv;
    }

    static void logSoftmaxRow(float[] x, int off, float[] o, int oo, int n) {
        float lse = logSumExp(x, off, n);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector.fromArray(S, x, off + i).sub(lse).intoArray(o, oo + i);
        }
        for (; i < n; i++) o[oo + i] = x[off + i] - lse;
    }

    /** {@code log(sum(exp(x)))} over a row, stably. */
    static float logSumExp(float[] x, int off, int n) {
        float max = rowMax(x, off, n);
        return max + (float) Math.log(VectorMath.exp(x, off, -max, null, 0, n));
    }

    private static void softmaxBackwardRow(float[] y, int oy, float[] g, int og, float[] o, int oo, int n) {
        int l = S.length();
        int i = 0;
        FloatVector acc = FloatVector.zero(S);
        for (int upper = S.loopBound(n); i < upper; i += l) {
            acc = FloatVector.fromArray(S, g, og + i).lanewise(VectorOperators.FMA, FloatVector.fromArray(S, y, oy + i), acc);
        }
        float dot = VectorMath.sumLanes(acc);
        for (; i < n; i++) dot += g[og + i] * y[oy + i];
        i = 0;
        for (int upper = S.loopBound(n); i < upper; i += l) {
            FloatVector.fromArray(S, g, og + i).sub(dot).mul(FloatVector.fromArray(S, y, oy + i)).intoArray(o, oo + i);
        }
        for (; i < n; i++) o[oo + i] = (g[og + i] - dot) * y[oy + i];
    }

    private static void logSoftmaxBackwardRow(float[] y, int oy, float[] g, int og, float[] o, int oo, int n) {
        float sum = Reduce.rowSum(g, og, n);
        VectorMath.exp(y, oy, 0f, o, oo, n); // softmax, into the output
        int l = S.length();
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += l) {
            FloatVector.fromArray(S, o, oo + i).mul(-sum).add(FloatVector.fromArray(S, g, og + i)).intoArray(o, oo + i);
        }
        for (; i < n; i++) o[oo + i] = g[og + i] - o[oo + i] * sum;
    }

    // ---- cross-entropy ---------------------------------------------------------------------------------------

    /**
     * Mean cross-entropy of logits {@code [..., C]} against class indices {@code [...]}, over the rows whose target
     * is not {@code ignoreIndex}. When every row is ignored the loss is 0 (and so is its gradient), where PyTorch
     * would give NaN: a batch of padding should not poison training.
     */
    public static CrossEntropy crossEntropy(Tensor logits, IntTensor targets, int ignoreIndex) {
        return crossEntropy(logits, targets, ignoreIndex, false);
    }

    static CrossEntropy crossEntropyReference(Tensor logits, IntTensor targets, int ignoreIndex) {
        return crossEntropy(logits, targets, ignoreIndex, true);
    }

    private static CrossEntropy crossEntropy(Tensor logits, IntTensor targets, int ignoreIndex, boolean reference) {
        int classes = checkTargets(logits, targets, ignoreIndex);
        Tensor x = logits.contiguous();
        int rows = targets.numel();
        int[] t = targets.data();
        Tensor lse = x.newZeros(rows);
        double[] rowLoss = new double[rows];
        if (!reference && Elementwise.floatPath(x)) {
            float[] xs = x.floats();
            float[] ls = lse.floats();
            int off = x.offset();
            Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(1, classes)), (from, to) -> {
                for (int r = from; r < to; r++) {
                    if (t[r] == ignoreIndex) continue;
                    ls[r] = logSumExp(xs, off + r * classes, classes);
                    rowLoss[r] = ls[r] - xs[off + r * classes + t[r]];
                }
            });
        } else {
            Storage xs = x.storage();
            for (int r = 0; r < rows; r++) {
                if (t[r] == ignoreIndex) continue;
                int base = x.offset() + r * classes;
                double max = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < classes; c++) max = Math.max(max, xs.get(base + c));
                double sum = 0;
                for (int c = 0; c < classes; c++) sum += Math.exp(xs.get(base + c) - max);
                double l = max + Math.log(sum);
                lse.storage().set(r, l);
                rowLoss[r] = l - xs.get(base + t[r]);
            }
        }
        int count = 0;
        double total = 0;
        for (int r = 0; r < rows; r++) {
            if (t[r] != ignoreIndex) {
                count++;
                total += rowLoss[r];
            }
        }
        return new CrossEntropy(count == 0 ? 0 : total / count, count, lse);
    }

    /**
     * The gradient of {@link #crossEntropy} with respect to the logits: {@code (softmax(x) - onehot(t)) * gradLoss /
     * count} on counted rows, zero on ignored ones. {@code logSumExp} is the forward's, so softmax is not stored.
     */
    public static Tensor crossEntropyBackward(Tensor logits, IntTensor targets, int ignoreIndex, CrossEntropy forward,
            double gradLoss) {
        return crossEntropyBackward(logits, targets, ignoreIndex, forward, gradLoss, false);
    }

    static Tensor crossEntropyBackwardReference(Tensor logits, IntTensor targets, int ignoreIndex, CrossEntropy forward,
            double gradLoss) {
        return crossEntropyBackward(logits, targets, ignoreIndex, forward, gradLoss, true);
    }

    private static Tensor crossEntropyBackward(Tensor logits, IntTensor targets, int ignoreIndex, CrossEntropy forward,
            double gradLoss, boolean reference) {
        int classes = checkTargets(logits, targets, ignoreIndex);
        Tensor x = logits.contiguous();
        Tensor dx = x.newZeros(x.shape());
        if (forward.count() == 0) return dx;
        int rows = targets.numel();
        int[] t = targets.data();
        double scale = gradLoss / forward.count();
        if (!reference && Elementwise.floatPath(x, forward.logSumExp())) {
            float[] xs = x.floats();
            float[] ls = forward.logSumExp().contiguous().floats();
            float[] o = dx.floats();
            int off = x.offset();
            float s = (float) scale;
            Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(1, classes)), (from, to) -> {
                for (int r = from; r < to; r++) {
                    if (t[r] == ignoreIndex) continue;
                    crossEntropyBackwardRow(xs, off + r * classes, ls[r], s, o, r * classes, classes);
                    o[r * classes + t[r]] -= s;
                }
            });
        } else {
            Storage xs = x.storage();
            Storage o = dx.storage();
            Tensor lse = forward.logSumExp();
            for (int r = 0; r < rows; r++) {
                if (t[r] == ignoreIndex) continue;
                double l = lse.getDouble(r);
                for (int c = 0; c < classes; c++) {
                    double p = Math.exp(xs.get(x.offset() + r * classes + c) - l);
                    o.set(r * classes + c, (p - (c == t[r] ? 1 : 0)) * scale);
                }
            }
        }
        return dx;
    }

    private static void crossEntropyBackwardRow(float[] x, int off, float lse, float scale, float[] o, int oo, int n) {
        VectorMath.exp(x, off, -lse, o, oo, n); // softmax, into the output
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector.fromArray(S, o, oo + i).mul(scale).intoArray(o, oo + i);
        }
        for (; i < n; i++) o[oo + i] *= scale;
    }

    /** Checks that targets has the logits' shape without its last axis and every target is a class or ignored. */
    private static int checkTargets(Tensor logits, IntTensor targets, int ignoreIndex) {
        int[] ls = logits.shape();
        if (ls.length == 0) throw ShapeException.of("crossEntropy", "logits need a class axis", ls);
        int[] expected = java.util.Arrays.copyOf(ls, ls.length - 1);
        if (!java.util.Arrays.equals(expected, targets.shape())) {
            throw ShapeException.of("crossEntropy", "targets must have the logits' shape without the class axis",
                    ls, targets.shape());
        }
        int classes = ls[ls.length - 1];
        int[] t = targets.data();
        for (int i = 0; i < t.length; i++) {
            if (t[i] != ignoreIndex && (t[i] < 0 || t[i] >= classes)) {
                throw new Moe4jException("crossEntropy: target " + t[i] + " at position " + i + " is outside [0, "
                        + classes + ") and is not the ignore index " + ignoreIndex);
            }
        }
        return classes;
    }
}
