package org.moe4j.kernel;

import java.util.Arrays;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * Scaled dot-product attention, fused per (batch, head): {@code out = softmax(q k^T * scale + mask) v} with
 * q [B, H, T, D], k [B, H, S, D], v [B, H, S, Dv] and an optional additive mask broadcastable to [B, H, T, S].
 *
 * <ul>
 *   <li>Causal: query i may see key j only when {@code j <= i + (S - T)}, so the T queries are the last T
 *       positions of the S keys; with T == S this is the usual lower triangle, and a query block appended to a
 *       KV cache works unchanged.
 *   <li>A row with no visible key (causal with {@code i + S - T < 0}, or every score -infinity through the mask)
 *       outputs zeros and passes no gradient, instead of the NaN a plain softmax would give.
 *   <li>The forward keeps each row's log-sum-exp [B, H, T] (+infinity for a row with no visible key), so the
 *       backward recomputes the probabilities per head instead of saving [B, H, T, S].
 * </ul>
 *
 * <p>The fast path (F32, vector backend) computes each head's scores and products with {@link Gemm#sgemm} into
 * one [T, S] scratch per thread, parallel over B*H heads. The references are row-by-row loops through
 * {@code Storage.get/set} in double precision; they serve F64 (gradcheck) and any strides.
 */
public final class AttentionKernels {
    static final String OP = "scaledDotProductAttention";
    /** Multiply-adds below which a chunk of heads is not worth a thread. */
    private static final long GRAIN_WORK = 1 << 15;

    private AttentionKernels() {}

    /** Forward results: out [B, H, T, Dv] and the log-sum-exp of each score row [B, H, T]. */
    public record Forward(Tensor out, Tensor logSumExp) {}

    /** Gradients for q, k and v (their shapes), and for the mask (its own shape) or null when not asked for. */
    public record Grads(Tensor q, Tensor k, Tensor v, Tensor mask) {}

    /** The sizes of one call, validated once. */
    record Dims(int b, int h, int t, int s, int d, int dv) {
        int heads() {
            return b * h;
        }

        int grain() {
            long perHead = Math.max(1L, (long) t * s * (d + dv));
            return (int) Math.max(1, Math.min(Integer.MAX_VALUE, GRAIN_WORK / perHead));
        }

        /** How many leading keys query row i sees: all S, or under causal masking those with j <= i + S - T. */
        int visible(int i, boolean causal) {
            return causal ? Math.max(0, Math.min(s, i + s - t + 1)) : s;
        }

        int[] full() {
            return new int[] {b, h, t, s};
        }
    }

    /** Validates shapes; the message names the op and every shape involved. */
    static Dims dims(Tensor q, Tensor k, Tensor v, Tensor mask) {
        int[] qs = q.shape();
        int[] ks = k.shape();
        int[] vs = v.shape();
        if (qs.length != 4 || ks.length != 4 || vs.length != 4) {
            throw ShapeException.of(OP, "q, k and v must be [B, H, T, D], [B, H, S, D] and [B, H, S, Dv]", qs, ks, vs);
        }
        if (qs[0] != ks[0] || qs[0] != vs[0] || qs[1] != ks[1] || qs[1] != vs[1]) {
            throw ShapeException.of(OP, "q, k and v differ in batch or head count", qs, ks, vs);
        }
        if (qs[3] != ks[3]) {
            throw ShapeException.of(OP, "q and k head dims differ (" + qs[3] + " vs " + ks[3] + ")", qs, ks);
        }
        if (ks[2] != vs[2]) {
            throw ShapeException.of(OP, "k and v hold different key counts (" + ks[2] + " vs " + vs[2] + ")", ks, vs);
        }
        if (qs[2] < 1 || ks[2] < 1 || qs[3] < 1 || vs[3] < 1) {
            throw ShapeException.of(OP, "query count, key count and head dims must be positive", qs, ks, vs);
        }
        if ((long) qs[2] * ks[2] > Integer.MAX_VALUE) {
            throw ShapeException.of(OP, "one head's [T, S] scores exceed 2^31-1 elements; split the queries", qs, ks);
        }
        Dims d = new Dims(qs[0], qs[1], qs[2], ks[2], qs[3], vs[3]);
        if (mask != null) {
            int[] ms = mask.shape();
            boolean ok = ms.length <= 4;
            for (int i = 0; ok && i < ms.length; i++) {
                int want = d.full()[4 - ms.length + i];
                ok = ms[i] == 1 || ms[i] == want;
            }
            if (!ok) throw ShapeException.of(OP, "mask does not broadcast to [B, H, T, S] = " + Arrays.toString(d.full())
                    + " (mask, q, k)", ms, qs, ks);
        }
        return d;
    }

    private static boolean fast(Tensor... ts) {
        if (!Backend.vector()) return false;
        for (Tensor t : ts) if (t != null && t.dtype() != DType.F32) return false;
        return true;
    }

    // ---- forward ---------------------------------------------------------------------------------------------

    /** Attention forward; {@code mask} may be null, {@code scale} is usually {@code 1 / sqrt(D)}. */
    public static Forward forward(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        Dims d = dims(q, k, v, mask);
        return fast(q, k, v, mask) ? forwardVector(q, k, v, mask, causal, (float) scale, d)
                : forwardReference(q, k, v, mask, causal, scale, d);
    }

    static Forward forwardReference(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        return forwardReference(q, k, v, mask, causal, scale, dims(q, k, v, mask));
    }

    private static Forward forwardReference(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale,
            Dims d) {
        Tensor m = mask == null ? null : mask.expand(d.full());
        Tensor out = q.newZeros(d.b, d.h, d.t, d.dv);
        Tensor lse = q.newZeros(d.b, d.h, d.t);
        double[] sc = new double[d.s];
        for (int b = 0; b < d.b; b++) {
            for (int h = 0; h < d.h; h++) {
                for (int i = 0; i < d.t; i++) {
                    int lim = d.visible(i, causal);
                    double max = scoresReference(q, k, m, b, h, i, lim, scale, d, sc);
                    if (lim == 0 || max == Double.NEGATIVE_INFINITY) {
                        lse.set(Double.POSITIVE_INFINITY, b, h, i);
                        continue;
                    }
                    double sum = 0;
                    for (int j = 0; j < lim; j++) {
                        sc[j] = Math.exp(sc[j] - max);
                        sum += sc[j];
                    }
                    for (int e = 0; e < d.dv; e++) {
                        double acc = 0;
                        for (int j = 0; j < lim; j++) acc += sc[j] * v.getDouble(b, h, j, e);
                        out.set(acc / sum, b, h, i, e);
                    }
                    lse.set(max + Math.log(sum), b, h, i);
                }
            }
        }
        return new Forward(out, lse);
    }

    /** Fills sc[0, lim) with row i's scaled, masked scores and returns their maximum. */
    private static double scoresReference(Tensor q, Tensor k, Tensor m, int b, int h, int i, int lim, double scale,
            Dims d, double[] sc) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < lim; j++) {
            double dot = 0;
            for (int c = 0; c < d.d; c++) dot += q.getDouble(b, h, i, c) * k.getDouble(b, h, j, c);
            sc[j] = dot * scale + (m == null ? 0 : m.getDouble(b, h, i, j));
            max = Math.max(max, sc[j]);
        }
        return max;
    }

    private static Forward forwardVector(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale,
            Dims d) {
        Tensor qc = q.contiguous();
        Tensor kc = k.contiguous();
        Tensor vc = v.contiguous();
        MaskView mv = MaskView.of(mask, d);
        Tensor out = Tensor.zeros(d.b, d.h, d.t, d.dv);
        Tensor lse = Tensor.zeros(d.b, d.h, d.t);
        float[] va = vc.floats();
        float[] oa = out.floats();
        float[] la = lse.floats();
        Parallel.forRange(d.heads(), d.grain(), (from, to) -> {
            float[] p = new float[d.t * d.s]; // [T, S] scores, then probabilities
            for (int bh = from; bh < to; bh++) {
                scoresVector(qc, kc, mv, causal, scale, d, bh, p);
                for (int i = 0; i < d.t; i++) {
                    int row = i * d.s;
                    int lim = d.visible(i, causal);
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = row; j < row + lim; j++) max = Math.max(max, p[j]);
                    Arrays.fill(p, row + lim, row + d.s, 0f);
                    if (lim == 0 || max == Float.NEGATIVE_INFINITY) {
                        Arrays.fill(p, row, row + lim, 0f);
                        la[bh * d.t + i] = Float.POSITIVE_INFINITY;
                        continue;
                    }
                    double sum = 0;
                    for (int j = row; j < row + lim; j++) {
                        float e = (float) Math.exp(p[j] - max);
                        p[j] = e;
                        sum += e;
                    }
                    float inv = (float) (1 / sum);
                    for (int j = row; j < row + lim; j++) p[j] *= inv;
                    la[bh * d.t + i] = (float) (max + Math.log(sum));
                }
                Gemm.sgemm(false, false, d.t, d.dv, d.s, 1f, p, 0, d.s, va, vc.offset() + bh * d.s * d.dv, d.dv,
                        0f, oa, bh * d.t * d.dv, d.dv);
            }
        });
        return new Forward(out, lse);
    }

    /** A float mask broadcast to [B, H, T, S] through its strides (zero on broadcast axes). */
    private record MaskView(float[] a, int off, int sb, int sh, int st, int ss) {
        static MaskView of(Tensor mask, Dims d) {
            if (mask == null) return null;
            Tensor m = mask.expand(d.full());
            int[] st = m.strides();
            return new MaskView(m.floats(), m.offset(), st[0], st[1], st[2], st[3]);
        }
    }

    /** p [T, S] = scale * q k^T for head bh, plus the mask on the visible keys of each row. */
    private static void scoresVector(Tensor qc, Tensor kc, MaskView m, boolean causal, float scale, Dims d, int bh,
            float[] p) {
        Gemm.sgemm(false, true, d.t, d.s, d.d, scale, qc.floats(), qc.offset() + bh * d.t * d.d, d.d,
                kc.floats(), kc.offset() + bh * d.s * d.d, d.d, 0f, p, 0, d.s);
        if (m == null) return;
        int base = m.off + (bh / d.h) * m.sb + (bh % d.h) * m.sh;
        for (int i = 0; i < d.t; i++) {
            int lim = d.visible(i, causal);
            int src = base + i * m.st;
            for (int j = 0, dst = i * d.s; j < lim; j++, dst++, src += m.ss) p[dst] += m.a[src];
        }
    }

    // ---- backward --------------------------------------------------------------------------------------------

    /**
     * Gradients of attention given gradOut [B, H, T, Dv] and the forward's log-sum-exp; the mask gradient (the
     * score gradient summed over the mask's broadcast axes) only when {@code maskGrad}.
     */
    public static Grads backward(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal,
            double scale, Tensor logSumExp, boolean maskGrad) {
        Dims d = backwardDims(gradOut, q, k, v, mask, logSumExp, maskGrad);
        return fast(gradOut, q, k, v, mask, logSumExp)
                ? backwardVector(gradOut, q, k, v, mask, causal, (float) scale, logSumExp, maskGrad, d)
                : backwardReference(gradOut, q, k, v, mask, causal, scale, logSumExp, maskGrad, d);
    }

    static Grads backwardReference(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal,
            double scale, Tensor logSumExp, boolean maskGrad) {
        Dims d = backwardDims(gradOut, q, k, v, mask, logSumExp, maskGrad);
        return backwardReference(gradOut, q, k, v, mask, causal, scale, logSumExp, maskGrad, d);
    }

    private static Dims backwardDims(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor mask, Tensor logSumExp,
            boolean maskGrad) {
        Dims d = dims(q, k, v, mask);
        if (!Arrays.equals(gradOut.shape(), new int[] {d.b, d.h, d.t, d.dv})
                || !Arrays.equals(logSumExp.shape(), new int[] {d.b, d.h, d.t})) {
            throw ShapeException.of(OP, "gradient must be [B, H, T, Dv] and log-sum-exp [B, H, T] (gradient, "
                    + "log-sum-exp, q, v)", gradOut.shape(), logSumExp.shape(), q.shape(), v.shape());
        }
        if (maskGrad && mask == null) throw new ShapeException(OP, "a mask gradient was asked for without a mask");
        return d;
    }

    private static Grads backwardReference(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal,
            double scale, Tensor logSumExp, boolean maskGrad, Dims d) {
        Tensor m = mask == null ? null : mask.expand(d.full());
        double[] dq = new double[d.heads() * d.t * d.d];
        double[] dk = new double[d.heads() * d.s * d.d];
        double[] dv = new double[d.heads() * d.s * d.dv];
        double[] dm = maskGrad ? new double[d.heads() * d.t * d.s] : null; // [B, H, T, S] before reduction
        double[] p = new double[d.s];
        double[] dp = new double[d.s];
        for (int b = 0; b < d.b; b++) {
            for (int h = 0; h < d.h; h++) {
                int bh = b * d.h + h;
                for (int i = 0; i < d.t; i++) {
                    double lse = logSumExp.getDouble(b, h, i);
                    if (lse == Double.POSITIVE_INFINITY) continue; // no visible key: no gradient
                    int lim = d.visible(i, causal);
                    scoresReference(q, k, m, b, h, i, lim, scale, d, p);
                    double dot = 0;
                    for (int j = 0; j < lim; j++) {
                        p[j] = Math.exp(p[j] - lse);
                        double g = 0;
                        for (int e = 0; e < d.dv; e++) g += gradOut.getDouble(b, h, i, e) * v.getDouble(b, h, j, e);
                        dp[j] = g;
                        dot += p[j] * g;
                    }
                    for (int j = 0; j < lim; j++) {
                        double ds = p[j] * (dp[j] - dot); // softmax backward: dS = P (dP - rowsum(P dP))
                        if (dm != null) dm[(bh * d.t + i) * d.s + j] = ds;
                        for (int c = 0; c < d.d; c++) {
                            dq[(bh * d.t + i) * d.d + c] += scale * ds * k.getDouble(b, h, j, c);
                            dk[(bh * d.s + j) * d.d + c] += scale * ds * q.getDouble(b, h, i, c);
                        }
                        for (int e = 0; e < d.dv; e++) dv[(bh * d.s + j) * d.dv + e] += p[j] * gradOut.getDouble(b, h, i, e);
                    }
                }
            }
        }
        DType dt = q.dtype();
        Tensor gm = dm == null ? null : sumToMask(Tensor.ofDoubles(dm, d.full()), mask.shape(), d).to(dt);
        return new Grads(Tensor.ofDoubles(dq, q.shape()).to(dt), Tensor.ofDoubles(dk, k.shape()).to(dt),
                Tensor.ofDoubles(dv, v.shape()).to(dt), gm);
    }

    private static Grads backwardVector(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal,
            float scale, Tensor logSumExp, boolean maskGrad, Dims d) {
        Tensor gc = gradOut.contiguous();
        Tensor qc = q.contiguous();
        Tensor kc = k.contiguous();
        Tensor vc = v.contiguous();
        Tensor lc = logSumExp.contiguous();
        MaskView mv = MaskView.of(mask, d);
        Tensor dq = Tensor.zeros(q.shape());
        Tensor dk = Tensor.zeros(k.shape());
        Tensor dv = Tensor.zeros(v.shape());
        Tensor dmFull = maskGrad ? Tensor.zeros(d.full()) : null; // [B, H, T, S] before reduction
        float[] ga = gc.floats();
        float[] la = lc.floats();
        Parallel.forRange(d.heads(), d.grain(), (from, to) -> {
            float[] p = new float[d.t * d.s]; // [T, S] probabilities
            float[] dp = new float[d.t * d.s]; // [T, S] gradient of probabilities, then of scores
            for (int bh = from; bh < to; bh++) {
                scoresVector(qc, kc, mv, causal, scale, d, bh, p);
                for (int i = 0; i < d.t; i++) {
                    int row = i * d.s;
                    int lim = d.visible(i, causal);
                    float lse = la[lc.offset() + bh * d.t + i];
                    if (lse == Float.POSITIVE_INFINITY) lim = 0;
                    for (int j = row; j < row + lim; j++) p[j] = (float) Math.exp(p[j] - lse);
                    Arrays.fill(p, row + lim, row + d.s, 0f);
                }
                int gOff = gc.offset() + bh * d.t * d.dv;
                Gemm.sgemm(true, false, d.s, d.dv, d.t, 1f, p, 0, d.s, ga, gOff, d.dv, 0f,
                        dv.floats(), bh * d.s * d.dv, d.dv);
                Gemm.sgemm(false, true, d.t, d.s, d.dv, 1f, ga, gOff, d.dv, vc.floats(), vc.offset() + bh * d.s * d.dv,
                        d.dv, 0f, dp, 0, d.s);
                for (int i = 0; i < d.t; i++) {
                    int row = i * d.s;
                    double dot = 0;
                    for (int j = row; j < row + d.s; j++) dot += p[j] * dp[j];
                    float rowDot = (float) dot;
                    for (int j = row; j < row + d.s; j++) dp[j] = p[j] * (dp[j] - rowDot);
                }
                if (dmFull != null) System.arraycopy(dp, 0, dmFull.floats(), bh * d.t * d.s, d.t * d.s);
                Gemm.sgemm(false, false, d.t, d.d, d.s, scale, dp, 0, d.s, kc.floats(), kc.offset() + bh * d.s * d.d,
                        d.d, 0f, dq.floats(), bh * d.t * d.d, d.d);
                Gemm.sgemm(true, false, d.s, d.d, d.t, scale, dp, 0, d.s, qc.floats(), qc.offset() + bh * d.t * d.d,
                        d.d, 0f, dk.floats(), bh * d.s * d.d, d.d);
            }
        });
        Tensor gm = dmFull == null ? null : sumToMask(dmFull, mask.shape(), d);
        return new Grads(dq, dk, dv, gm);
    }

    /** Sums a contiguous [B, H, T, S] tensor over the axes the mask broadcasts along, in a fixed order. */
    static Tensor sumToMask(Tensor full, int[] maskShape, Dims d) {
        int[] cs = Shapes.contiguousStrides(maskShape);
        int[] st = new int[4]; // the mask's strides aligned to [B, H, T, S], zero on broadcast axes
        for (int a = 0; a < 4; a++) {
            int ma = a - (4 - maskShape.length);
            st[a] = ma < 0 || maskShape[ma] == 1 ? 0 : cs[ma];
        }
        double[] acc = new double[Shapes.numel(maskShape)];
        Storage fs = full.storage();
        int p = full.offset();
        for (int b = 0; b < d.b; b++) {
            for (int h = 0; h < d.h; h++) {
                for (int i = 0; i < d.t; i++) {
                    int base = b * st[0] + h * st[1] + i * st[2];
                    for (int j = 0; j < d.s; j++) acc[base + j * st[3]] += fs.get(p++);
                }
            }
        }
        return Tensor.ofDoubles(acc, maskShape).to(full.dtype());
    }
}
