package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;

/**
 * Causal grouped-query attention of T new queries over a key/value cache, for inference (no gradient). The
 * cache holds S positions, the last T of which belong to the new queries, so query i sees keys
 * {@code j <= i + (S - T)}. Query head h reads key/value head {@code h / (H / KVH)}: the heads are shared in
 * place, never repeated.
 *
 * <p>Layouts, all row-major float arrays: q [T, H, D] from offset 0; k and v [capacity, KVH, D] with the first
 * S rows filled; out [T, H, Dv = D]. These are the layouts the projections produce and the cache stores, so
 * decoding copies nothing. Each (query, head) row is computed by one thread in a fixed order: scores by
 * vector dot products, softmax with {@link VectorMath#exp}, then the value rows summed in key order.
 */
public final class CachedAttention {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final String OP = "cachedAttention";
    /** Multiply-adds below which a chunk of rows is not worth a thread. */
    private static final long GRAIN_WORK = 1 << 15;

    private CachedAttention() {}

    /** Writes {@code out} [T, H, D]; {@code scale} is usually {@code 1 / sqrt(D)}. */
    public static void forward(float[] q, int t, int heads, int headDim, float[] k, float[] v, int s, int kvHeads,
            float scale, float[] out) {
        check(q.length, t, heads, headDim, k.length, v.length, s, kvHeads, out.length);
        if (!Backend.vector()) {
            forwardReference(q, t, heads, headDim, k, v, s, kvHeads, scale, out);
            return;
        }
        int rows = t * heads;
        int grain = (int) Math.max(1, GRAIN_WORK / Math.max(1L, 2L * s * headDim));
        Parallel.forRange(rows, grain, (from, to) -> {
            float[] p = new float[s]; // one row's scores, then probabilities
            float[] acc = new float[headDim];
            for (int r = from; r < to; r++) row(q, r, t, heads, headDim, k, v, s, kvHeads, scale, out, p, acc);
        });
    }

    private static void row(float[] q, int r, int t, int heads, int d, float[] k, float[] v, int s, int kvHeads,
            float scale, float[] out, float[] p, float[] acc) {
        int i = r / heads, h = r % heads;
        int kvh = h / (heads / kvHeads);
        int lim = i + s - t + 1; // keys 0 .. lim-1 are visible
        int qi = r * d;
        int stride = kvHeads * d;
        int l = S.length();
        int upper = S.loopBound(d);
        // Scores four keys at a time (four independent FMA chains over one query load); each score is the
        // lanes added by DotGemm's fixed tree, then the tail, so it does not depend on its neighbours.
        int base = kvh * d;
        int j = 0;
        for (; j + 4 <= lim; j += 4) {
            int k0 = j * stride + base, k1 = k0 + stride, k2 = k1 + stride, k3 = k2 + stride;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int c = 0; c < upper; c += l) {
                FloatVector qv = FloatVector.fromArray(S, q, qi + c);
                a0 = qv.fma(FloatVector.fromArray(S, k, k0 + c), a0);
                a1 = qv.fma(FloatVector.fromArray(S, k, k1 + c), a1);
                a2 = qv.fma(FloatVector.fromArray(S, k, k2 + c), a2);
                a3 = qv.fma(FloatVector.fromArray(S, k, k3 + c), a3);
            }
            p[j] = tail(DotGemm.tree(a0), q, qi, k, k0, upper, d) * scale;
            p[j + 1] = tail(DotGemm.tree(a1), q, qi, k, k1, upper, d) * scale;
            p[j + 2] = tail(DotGemm.tree(a2), q, qi, k, k2, upper, d) * scale;
            p[j + 3] = tail(DotGemm.tree(a3), q, qi, k, k3, upper, d) * scale;
        }
        for (; j < lim; j++) {
            int ki = j * stride + base;
            FloatVector a = FloatVector.zero(S);
            for (int c = 0; c < upper; c += l) {
                a = FloatVector.fromArray(S, q, qi + c).fma(FloatVector.fromArray(S, k, ki + c), a);
            }
            p[j] = tail(DotGemm.tree(a), q, qi, k, ki, upper, d) * scale;
        }
        float max = Float.NEGATIVE_INFINITY;
        for (j = 0; j < lim; j++) max = Math.max(max, p[j]);
        float sum = VectorMath.exp(p, 0, -max, p, 0, lim);
        // Values: each output chunk stays in a register while the keys are summed into it in key order.
        int c = 0;
        for (; c < upper; c += l) {
            FloatVector a = FloatVector.zero(S);
            for (j = 0; j < lim; j++) {
                a = FloatVector.fromArray(S, v, j * stride + base + c).lanewise(VectorOperators.FMA, p[j], a);
            }
            a.intoArray(acc, c);
        }
        for (; c < d; c++) {
            float a = 0;
            for (j = 0; j < lim; j++) a += p[j] * v[j * stride + base + c];
            acc[c] = a;
        }
        float inv = 1f / sum;
        for (c = 0; c < d; c++) out[qi + c] = acc[c] * inv;
    }

    /** A dot product's depth past the last whole vector, [from, d), added to {@code s} in order. */
    private static float tail(float s, float[] q, int qi, float[] k, int ki, int from, int d) {
        for (int c = from; c < d; c++) s = Math.fma(q[qi + c], k[ki + c], s);
        return s;
    }

    /** The definition in double precision, one (query, head) row at a time. */
    static void forwardReference(float[] q, int t, int heads, int d, float[] k, float[] v, int s, int kvHeads,
            float scale, float[] out) {
        check(q.length, t, heads, d, k.length, v.length, s, kvHeads, out.length);
        int stride = kvHeads * d;
        double[] sc = new double[s];
        for (int i = 0; i < t; i++) {
            for (int h = 0; h < heads; h++) {
                int kvh = h / (heads / kvHeads);
                int lim = i + s - t + 1;
                int qi = (i * heads + h) * d;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < lim; j++) {
                    double dot = 0;
                    for (int c = 0; c < d; c++) dot += (double) q[qi + c] * k[j * stride + kvh * d + c];
                    sc[j] = dot * scale;
                    max = Math.max(max, sc[j]);
                }
                double sum = 0;
                for (int j = 0; j < lim; j++) sum += sc[j] = Math.exp(sc[j] - max);
                for (int c = 0; c < d; c++) {
                    double acc = 0;
                    for (int j = 0; j < lim; j++) acc += sc[j] * v[j * stride + kvh * d + c];
                    out[qi + c] = (float) (acc / sum);
                }
            }
        }
    }

    private static void check(int qLen, int t, int heads, int d, int kLen, int vLen, int s, int kvHeads, int outLen) {
        if (t < 1 || heads < 1 || d < 1 || kvHeads < 1 || heads % kvHeads != 0) {
            throw new ShapeException(OP, "needs T, H, D, KVH >= 1 with H a multiple of KVH, got T=" + t + ", H=" + heads
                    + ", D=" + d + ", KVH=" + kvHeads);
        }
        if (s < t) throw new ShapeException(OP, "the cache holds " + s + " positions, fewer than the " + t + " new queries");
        long qNeed = (long) t * heads * d, kvNeed = (long) s * kvHeads * d;
        if (qLen < qNeed || outLen < qNeed || kLen < kvNeed || vLen < kvNeed) {
            throw new ShapeException(OP, "arrays too short: q " + qLen + " and out " + outLen + " need " + qNeed
                    + ", k " + kLen + " and v " + vLen + " need " + kvNeed + " (T=" + t + ", H=" + heads + ", D=" + d
                    + ", S=" + s + ", KVH=" + kvHeads + ")");
        }
    }
}
