package org.moe4j.infer;

import java.util.Arrays;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;

/**
 * Draws tokens from logits by {@link SamplingParams}: deterministic, one per sequence (it holds the sequence's
 * random generator, seeded from the parameters, and advances it by exactly one draw per sampled token; greedy
 * decoding draws nothing). Not thread-safe; the static methods are.
 */
public final class Sampler {
    private final SamplingParams params;
    private final Rng rng;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.rng = new Rng(params.seed());
    }

    public SamplingParams params() {
        return params;
    }

    /** The next token from logits [vocab]. */
    public int sample(Tensor logits) {
        if (logits.rank() != 1) throw new Moe4jException("sampler: expects logits [vocab], got shape " + Arrays.toString(logits.shape()));
        Tensor c = logits.contiguous();
        if (c.dtype() != org.moe4j.tensor.DType.F32) c = c.to(org.moe4j.tensor.DType.F32);
        return sample(c.floats(), c.offset(), c.dim(0));
    }

    /** The next token from {@code logits[offset .. offset + vocab)}. */
    public int sample(float[] logits, int offset, int vocab) {
        if (params.isGreedy()) return argmax(logits, offset, vocab);
        Distribution d = distribution(logits, offset, vocab, params);
        double u = rng.nextDouble();
        double cumulative = 0;
        for (int i = 0; i < d.ids.length; i++) {
            cumulative += d.probs[i];
            if (u < cumulative) return d.ids[i];
        }
        return d.ids[d.ids.length - 1]; // u within rounding of 1
    }

    /** The most likely token; among equal logits the lowest id. NaN or +infinity is an error. */
    public static int argmax(float[] logits, int offset, int vocab) {
        checkRange(logits, offset, vocab);
        int best = -1;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            float x = logits[offset + i];
            check(x, i);
            if (best < 0 || x > max) {
                best = i;
                max = x;
            }
        }
        return best;
    }

    /**
     * The tokens {@code params} may draw and their probabilities (renormalised, summing to 1), most likely first,
     * lower ids first among equals. Not for greedy parameters (use {@link #argmax}).
     */
    public static Distribution distribution(float[] logits, int offset, int vocab, SamplingParams params) {
        if (params.isGreedy()) throw new Moe4jException("sampler: greedy decoding has no distribution; use argmax");
        checkRange(logits, offset, vocab);
        // Keys sort by logit descending, then id ascending: the sortable int of the float, inverted, above the id.
        long[] keys = new long[vocab];
        int n = 0;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            float x = logits[offset + i];
            check(x, i);
            if (x == Float.NEGATIVE_INFINITY) continue; // masked: probability 0
            int bits = Float.floatToIntBits(x == 0f ? 0f : x); // -0 and +0 are equal logits
            int sortable = bits ^ ((bits >> 31) & 0x7fffffff);
            keys[n++] = ((long) ~sortable << 32) | i;
            max = Math.max(max, x);
        }
        if (n == 0) throw new Moe4jException("sampler: every logit is -infinity; there is no token to draw");
        Arrays.sort(keys, 0, n);
        int kept = params.topK() > 0 ? Math.min(n, params.topK()) : n;
        double invT = 1 / params.temperature();
        double[] w = new double[kept];
        double total = 0;
        for (int i = 0; i < kept; i++) {
            w[i] = Math.exp(((double) logits[offset + id(keys[i])] - max) * invT); // the first is exactly 1
            total += w[i];
        }
        if (params.topP() < 1) {
            double cumulative = 0;
            int keep = kept;
            for (int i = 0; i < kept; i++) {
                cumulative += w[i] / total;
                if (cumulative >= params.topP()) {
                    keep = i + 1;
                    break;
                }
            }
            kept = keep;
        }
        if (params.minP() > 0) {
            int keep = 1;
            while (keep < kept && w[keep] >= params.minP() * w[0]) keep++;
            kept = keep;
        }
        int[] ids = new int[kept];
        double[] probs = new double[kept];
        double sum = 0;
        for (int i = 0; i < kept; i++) sum += w[i];
        for (int i = 0; i < kept; i++) {
            ids[i] = id(keys[i]);
            probs[i] = w[i] / sum;
        }
        return new Distribution(ids, probs);
    }

    /** Tokens that may be drawn, most likely first, with their probabilities. */
    public record Distribution(int[] ids, double[] probs) {
        public Distribution {
            ids = ids.clone();
            probs = probs.clone();
        }

        @Override
        public int[] ids() {
            return ids.clone();
        }

        @Override
        public double[] probs() {
            return probs.clone();
        }
    }

    private static int id(long key) {
        return (int) key;
    }

    private static void check(float x, int id) {
        if (Float.isNaN(x) || x == Float.POSITIVE_INFINITY) {
            throw new Moe4jException("sampler: the logit of token " + id + " is " + x + "; the model's output is not"
                    + " finite (a diverged or corrupted model?)");
        }
    }

    private static void checkRange(float[] logits, int offset, int vocab) {
        if (vocab < 1 || offset < 0 || (long) offset + vocab > logits.length) {
            throw new Moe4jException("sampler: " + vocab + " logits at offset " + offset + " do not fit an array of "
                    + logits.length);
        }
    }
}
