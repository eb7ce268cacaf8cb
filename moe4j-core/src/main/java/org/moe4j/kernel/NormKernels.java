package org.moe4j.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * Fused LayerNorm and RMSNorm over the last axis, forward and backward. Each row is read a few times and
 * written once; the float path vectorizes along the row and runs rows in parallel. The weight and bias gradients
 * are summed per chunk of rows and the chunks added in order, so results depend only on the thread count.
 */
public final class NormKernels {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int GRAIN = 1 << 14; // elements per task

    private NormKernels() {}

    /** A normalization's output and the per-row statistics its backward needs ({@code [rows]}; mean is null for RMSNorm). */
    public record Forward(Tensor output, Tensor mean, Tensor rstd) {}

    /** Gradients with respect to the input, the weight and the bias (each null when not asked for or absent). */
    public record Grads(Tensor input, Tensor weight, Tensor bias) {}

    // ---- LayerNorm -------------------------------------------------------------------------------------------

    /** {@code (x - mean) / sqrt(var + eps) * weight + bias} over the last axis (biased variance); weight, bias may be null. */
    public static Forward layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        return layerNorm(x, weight, bias, eps, false);
    }

    static Forward layerNormReference(Tensor x, Tensor weight, Tensor bias, double eps) {
        return layerNorm(x, weight, bias, eps, true);
    }

    private static Forward layerNorm(Tensor x, Tensor weight, Tensor bias, double eps, boolean reference) {
        int n = checkShapes("layerNorm", x, weight, bias);
        Tensor xc = x.contiguous();
        int rows = n == 0 ? 0 : xc.numel() / n;
        Tensor out = xc.newZeros(xc.shape());
        Tensor mean = xc.newZeros(rows);
        Tensor rstd = xc.newZeros(rows);
        if (!reference && floatPath(xc, weight, bias)) {
            float[] xs = xc.floats();
            int ox = xc.offset();
            Tensor wt = orFull(weight, n, 1f);
            Tensor bt = orFull(bias, n, 0f);
            float[] w = wt.floats();
            int ow = wt.offset();
            float[] b = bt.floats();
            int ob = bt.offset();
            float[] o = out.floats();
            float[] ms = mean.floats();
            float[] rs = rstd.floats();
            float e = (float) eps;
            Parallel.forRange(rows, rowGrain(n), (from, to) -> {
                for (int r = from; r < to; r++) layerNormRow(xs, ox + r * n, w, ow, b, ob, o, r * n, n, e, ms, rs, r);
            });
        } else {
            Storage xs = xc.storage();
            for (int r = 0; r < rows; r++) {
                int base = xc.offset() + r * n;
                double m = 0;
                for (int j = 0; j < n; j++) m += xs.get(base + j);
                m /= n;
                double var = 0;
                for (int j = 0; j < n; j++) var += (xs.get(base + j) - m) * (xs.get(base + j) - m);
                double rstdR = 1 / Math.sqrt(var / n + eps);
                mean.storage().set(r, m);
                rstd.storage().set(r, rstdR);
                for (int j = 0; j < n; j++) {
                    double y = (xs.get(base + j) - m) * rstdR;
                    if (weight != null) y *= weight.getDouble(j);
                    if (bias != null) y += bias.getDouble(j);
                    out.storage().set(r * n + j, y);
                }
            }
        }
        return new Forward(out, mean, rstd);
    }

    private static void layerNormRow(float[] x, int ox, float[] w, int ow, float[] b, int ob, float[] o, int oo, int n,
            float eps, float[] means, float[] rstds, int r) {
        int l = S.length();
        float mean = Reduce.rowSum(x, ox, n) / n;
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += l) {
            FloatVector d = FloatVector.fromArray(S, x, ox + i).sub(mean);
            acc = d.lanewise(VectorOperators.FMA, d, acc);
        }
        float var = VectorMath.sumLanes(acc);
        for (; i < n; i++) var += (x[ox + i] - mean) * (x[ox + i] - mean);
        float rstd = (float) (1 / Math.sqrt(var / n + eps));
        means[r] = mean;
        rstds[r] = rstd;
        i = 0;
        for (int upper = S.loopBound(n); i < upper; i += l) {
            FloatVector xhat = FloatVector.fromArray(S, x, ox + i).sub(mean).mul(rstd);
            xhat.lanewise(VectorOperators.FMA, FloatVector.fromArray(S, w, ow + i), FloatVector.fromArray(S, b, ob + i))
                    .intoArray(o, oo + i);
        }
        for (; i < n; i++) o[oo + i] = (x[ox + i] - mean) * rstd * w[ow + i] + b[ob + i];
    }

    /**
     * Gradients of {@link #layerNorm}: with {@code xhat = (x - mean) * rstd} and {@code dxhat = g * w},
     * {@code dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))}, {@code dw = sum(g * xhat)},
     * {@code db = sum(g)} over rows.
     */
    public static Grads layerNormBackward(Tensor x, Tensor weight, Forward forward, Tensor grad, boolean needInput,
            boolean needWeight, boolean needBias) {
        return layerNormBackward(x, weight, forward, grad, needInput, needWeight, needBias, false);
    }

    static Grads layerNormBackwardReference(Tensor x, Tensor weight, Forward forward, Tensor grad, boolean needInput,
            boolean needWeight, boolean needBias) {
        return layerNormBackward(x, weight, forward, grad, needInput, needWeight, needBias, true);
    }

    private static Grads layerNormBackward(Tensor x, Tensor weight, Forward forward, Tensor grad, boolean needInput,
            boolean needWeight, boolean needBias, boolean reference) {
        int n = checkBackward("layerNorm backward", x, weight, grad);
        Tensor xc = x.contiguous();
        Tensor gc = grad.contiguous();
        int rows = n == 0 ? 0 : xc.numel() / n;
        Tensor dx = needInput ? xc.newZeros(xc.shape()) : null;
        Tensor dw = needWeight && weight != null ? weight.newZeros(n) : null;
        Tensor db = needBias ? gc.newZeros(n) : null;
        if (!reference && floatPath(xc, weight, gc, forward.mean(), forward.rstd())) {
            float[] xs = xc.floats();
            float[] gs = gc.floats();
            int ox = xc.offset();
            int og = gc.offset();
            Tensor wt = orFull(weight, n, 1f);
            float[] w = wt.floats();
            int ow = wt.offset();
            float[] ms = forward.mean().toFloatArray();
            float[] rs = forward.rstd().toFloatArray();
            float[] o = dx == null ? null : dx.floats();
            int chunks = Parallel.chunks(rows, rowGrain(n));
            float[][] pw = new float[chunks][];
            float[][] pb = new float[chunks][];
            Parallel.forChunks(rows, chunks, (c, from, to) -> {
                float[] accW = dw == null ? null : new float[n];
                float[] accB = db == null ? null : new float[n];
                float[] dxhat = new float[n];
                for (int r = from; r < to; r++) {
                    layerNormBackwardRow(xs, ox + r * n, gs, og + r * n, w, ow, ms[r], rs[r], o, r * n, n, dxhat, accW,
                            accB);
                }
                pw[c] = accW;
                pb[c] = accB;
            });
            if (dw != null) addChunks(pw, dw.floats());
            if (db != null) addChunks(pb, db.floats());
        } else {
            Storage xs = xc.storage();
            Storage gs = gc.storage();
            double[] accW = new double[n];
            double[] accB = new double[n];
            double[] xhat = new double[n];
            double[] dxhat = new double[n];
            for (int r = 0; r < rows; r++) {
                double m = forward.mean().getDouble(r);
                double rstd = forward.rstd().getDouble(r);
                double sum1 = 0;
                double sum2 = 0;
                for (int j = 0; j < n; j++) {
                    double g = gs.get(gc.offset() + r * n + j);
                    xhat[j] = (xs.get(xc.offset() + r * n + j) - m) * rstd;
                    dxhat[j] = g * (weight == null ? 1 : weight.getDouble(j));
                    sum1 += dxhat[j];
                    sum2 += dxhat[j] * xhat[j];
                    accW[j] += g * xhat[j];
                    accB[j] += g;
                }
                if (dx != null) {
                    for (int j = 0; j < n; j++) dx.storage().set(r * n + j, rstd * (dxhat[j] - sum1 / n - xhat[j] * sum2 / n));
                }
            }
            if (dw != null) for (int j = 0; j < n; j++) dw.storage().set(j, accW[j]);
            if (db != null) for (int j = 0; j < n; j++) db.storage().set(j, accB[j]);
        }
        return new Grads(dx, dw, db);
    }

    private static void layerNormBackwardRow(float[] x, int ox, float[] g, int og, float[] w, int ow, float mean,
            float rstd, float[] dx, int odx, int n, float[] dxhat, float[] accW, float[] accB) {
        int l = S.length();
        int upper = S.loopBound(n);
        FloatVector s1 = FloatVector.zero(S);
        FloatVector s2 = FloatVector.zero(S);
        int i = 0;
        for (; i < upper; i += l) {
            FloatVector gv = FloatVector.fromArray(S, g, og + i);
            FloatVector xhat = FloatVector.fromArray(S, x, ox + i).sub(mean).mul(rstd);
            FloatVector d = gv.mul(FloatVector.fromArray(S, w, ow + i));
            d.intoArray(dxhat, i);
            s1 = s1.add(d);
            s2 = d.lanewise(VectorOperators.FMA, xhat, s2);
            if (accW != null) gv.lanewise(VectorOperators.FMA, xhat, FloatVector.fromArray(S, accW, i)).intoArray(accW, i);
            if (accB != null) gv.add(FloatVector.fromArray(S, accB, i)).intoArray(accB, i);
        }
        float sum1 = VectorMath.sumLanes(s1);
        float sum2 = VectorMath.sumLanes(s2);
        for (; i < n; i++) {
            float xhat = (x[ox + i] - mean) * rstd;
            float d = g[og + i] * w[ow + i];
            dxhat[i] = d;
            sum1 += d;
            sum2 += d * xhat;
            if (accW != null) accW[i] += g[og + i] * xhat;
            if (accB != null) accB[i] += g[og + i];
        }
        if (dx == null) return;
        float a = sum1 / n;
        float b = sum2 / n;
        i = 0;
        for (; i < upper; i += l) {
            FloatVector xhat = FloatVector.fromArray(S, x, ox + i).sub(mean).mul(rstd);
            FloatVector.fromArray(S, dxhat, i).sub(a).sub(xhat.mul(b)).mul(rstd).intoArray(dx, odx + i);
        }
        for (; i < n; i++) dx[odx + i] = rstd * (dxhat[i] - a - (x[ox + i] - mean) * rstd * b);
    }

    // ---- RMSNorm ---------------------------------------------------------------------------------------------

    /** {@code x / sqrt(mean(x^2) + eps) * weight} over the last axis, as Llama; weight may be null. */
    public static Forward rmsNorm(Tensor x, Tensor weight, double eps) {
        return rmsNorm(x, weight, eps, false);
    }

    static Forward rmsNormReference(Tensor x, Tensor weight, double eps) {
        return rmsNorm(x, weight, eps, true);
    }

    private static Forward rmsNorm(Tensor x, Tensor weight, double eps, boolean reference) {
        int n = checkShapes("rmsNorm", x, weight, null);
        Tensor xc = x.contiguous();
        int rows = n == 0 ? 0 : xc.numel() / n;
        Tensor out = xc.newZeros(xc.shape());
        Tensor rstd = xc.newZeros(rows);
        if (!reference && floatPath(xc, weight)) {
            float[] xs = xc.floats();
            int ox = xc.offset();
            Tensor wt = orFull(weight, n, 1f);
            float[] w = wt.floats();
            int ow = wt.offset();
            float[] o = out.floats();
            float[] rs = rstd.floats();
            float e = (float) eps;
            Parallel.forRange(rows, rowGrain(n), (from, to) -> {
                for (int r = from; r < to; r++) rs[r] = rmsNormRow(xs, ox + r * n, w, ow, o, r * n, n, e);
            });
        } else {
            Storage xs = xc.storage();
            for (int r = 0; r < rows; r++) {
                int base = xc.offset() + r * n;
                double ss = 0;
                for (int j = 0; j < n; j++) ss += xs.get(base + j) * xs.get(base + j);
                double rstdR = 1 / Math.sqrt(ss / n + eps);
                rstd.storage().set(r, rstdR);
                for (int j = 0; j < n; j++) {
                    double y = xs.get(base + j) * rstdR;
                    if (weight != null) y *= weight.getDouble(j);
                    out.storage().set(r * n + j, y);
                }
            }
        }
        return new Forward(out, null, rstd);
    }

    private static float rmsNormRow(float[] x, int ox, float[] w, int ow, float[] o, int oo, int n, float eps) {
        int l = S.length();
        int upper = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i < upper; i += l) {
            FloatVector v = FloatVector.fromArray(S, x, ox + i);
            acc = v.lanewise(VectorOperators.FMA, v, acc);
        }
        float ss = VectorMath.sumLanes(acc);
        for (; i < n; i++) ss += x[ox + i] * x[ox + i];
        float rstd = (float) (1 / Math.sqrt(ss / n + eps));
        i = 0;
        for (; i < upper; i += l) {
            FloatVector.fromArray(S, x, ox + i).mul(rstd).mul(FloatVector.fromArray(S, w, ow + i)).intoArray(o, oo + i);
        }
        for (; i < n; i++) o[oo + i] = x[ox + i] * rstd * w[ow + i];
        return rstd;
    }

    /**
     * Gradients of {@link #rmsNorm}: {@code dx = rstd * w * g - x * rstd^3 * sum(g * w * x) / n},
     * {@code dw = sum(g * x * rstd)} over rows.
     */
    public static Grads rmsNormBackward(Tensor x, Tensor weight, Forward forward, Tensor grad, boolean needInput,
            boolean needWeight) {
        return rmsNormBackward(x, weight, forward, grad, needInput, needWeight, false);
    }

    static Grads rmsNormBackwardReference(Tensor x, Tensor weight, Forward forward, Tensor grad, boolean needInput,
            boolean needWeight) {
        return rmsNormBackward(x, weight, forward, grad, needInput, needWeight, true);
    }

    private static Grads rmsNormBackward(Tensor x, Tensor weight, Forward forward, Tensor grad, boolean needInput,
            boolean needWeight, boolean reference) {
        int n = checkBackward("rmsNorm backward", x, weight, grad);
        Tensor xc = x.contiguous();
        Tensor gc = grad.contiguous();
        int rows = n == 0 ? 0 : xc.numel() / n;
        Tensor dx = needInput ? xc.newZeros(xc.shape()) : null;
        Tensor dw = needWeight && weight != null ? weight.newZeros(n) : null;
        if (!reference && floatPath(xc, weight, gc, forward.rstd())) {
            float[] xs = xc.floats();
            float[] gs = gc.floats();
            int ox = xc.offset();
            int og = gc.offset();
            Tensor wt = orFull(weight, n, 1f);
            float[] w = wt.floats();
            int ow = wt.offset();
            float[] rs = forward.rstd().toFloatArray();
            float[] o = dx == null ? null : dx.floats();
            int chunks = Parallel.chunks(rows, rowGrain(n));
            float[][] pw = new float[chunks][];
            Parallel.forChunks(rows, chunks, (c, from, to) -> {
                float[] accW = dw == null ? null : new float[n];
                for (int r = from; r < to; r++) rmsNormBackwardRow(xs, ox + r * n, gs, og + r * n, w, ow, rs[r], o, r * n, n, accW);
                pw[c] = accW;
            });
            if (dw != null) addChunks(pw, dw.floats());
        } else {
            Storage xs = xc.storage();
            Storage gs = gc.storage();
            double[] accW = new double[n];
            for (int r = 0; r < rows; r++) {
                double rstd = forward.rstd().getDouble(r);
                double dot = 0;
                for (int j = 0; j < n; j++) {
                    double g = gs.get(gc.offset() + r * n + j);
                    double xj = xs.get(xc.offset() + r * n + j);
                    dot += g * (weight == null ? 1 : weight.getDouble(j)) * xj;
                    accW[j] += g * xj * rstd;
                }
                if (dx == null) continue;
                double k = rstd * rstd * rstd * dot / n;
                for (int j = 0; j < n; j++) {
                    double g = gs.get(gc.offset() + r * n + j);
                    double xj = xs.get(xc.offset() + r * n + j);
                    dx.storage().set(r * n + j, rstd * (weight == null ? 1 : weight.getDouble(j)) * g - xj * k);
                }
            }
            if (dw != null) for (int j = 0; j < n; j++) dw.storage().set(j, accW[j]);
        }
        return new Grads(dx, dw, null);
    }

    private static void rmsNormBackwardRow(float[] x, int ox, float[] g, int og, float[] w, int ow, float rstd,
            float[] dx, int odx, int n, float[] accW) {
        int l = S.length();
        int upper = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i < upper; i += l) {
            FloatVector gv = FloatVector.fromArray(S, g, og + i);
            FloatVector xv = FloatVector.fromArray(S, x, ox + i);
            acc = gv.mul(FloatVector.fromArray(S, w, ow + i)).lanewise(VectorOperators.FMA, xv, acc);
            if (accW != null) gv.mul(xv).lanewise(VectorOperators.FMA, rstd, FloatVector.fromArray(S, accW, i)).intoArray(accW, i);
        }
        float dot = VectorMath.sumLanes(acc);
        for (; i < n; i++) {
            dot += g[og + i] * w[ow + i] * x[ox + i];
            if (accW != null) accW[i] += g[og + i] * x[ox + i] * rstd;
        }
        if (dx == null) return;
        float k = rstd * rstd * rstd * dot / n;
        i = 0;
        for (; i < upper; i += l) {
            FloatVector gw = FloatVector.fromArray(S, g, og + i).mul(FloatVector.fromArray(S, w, ow + i)).mul(rstd);
            gw.sub(FloatVector.fromArray(S, x, ox + i).mul(k)).intoArray(dx, odx + i);
        }
        for (; i < n; i++) dx[odx + i] = rstd * w[ow + i] * g[og + i] - x[ox + i] * k;
    }

    // ---- shared ----------------------------------------------------------------------------------------------

    /** Rows per task: enough rows to make about {@link #GRAIN} elements. */
    private static int rowGrain(int n) {
        return Math.max(1, GRAIN / Math.max(1, n));
    }

    /** {@code t} made contiguous, or n copies of {@code fill} when it is absent (weight 1, bias 0). */
    private static Tensor orFull(Tensor t, int n, float fill) {
        return t == null ? Tensor.full(fill, n) : t.contiguous();
    }

    /** {@code out[j] = sum over chunks c, in order, of parts[c][j]}. */
    private static void addChunks(float[][] parts, float[] out) {
        for (float[] p : parts) {
            if (p == null) continue;
            for (int j = 0; j < out.length; j++) out[j] += p[j];
        }
    }

    /** F32 for every non-null tensor, and the vector backend on. */
    private static boolean floatPath(Tensor... ts) {
        return Elementwise.floatPath(Arrays.stream(ts).filter(t -> t != null).toArray(Tensor[]::new));
    }

    private static int checkShapes(String op, Tensor x, Tensor weight, Tensor bias) {
        if (x.rank() == 0) throw ShapeException.of(op, "input needs at least one axis", x.shape());
        int n = x.dim(-1);
        if (weight != null && (weight.rank() != 1 || weight.dim(0) != n)) {
            throw ShapeException.of(op, "weight must be [" + n + "] to match the input's last axis", weight.shape(),
                    x.shape());
        }
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != n)) {
            throw ShapeException.of(op, "bias must be [" + n + "] to match the input's last axis", bias.shape(), x.shape());
        }
        return n;
    }

    private static int checkBackward(String op, Tensor x, Tensor weight, Tensor grad) {
        if (!x.sameShape(grad)) throw ShapeException.of(op, "input and gradient shapes differ", x.shape(), grad.shape());
        return checkShapes(op, x, weight, null);
    }
}
