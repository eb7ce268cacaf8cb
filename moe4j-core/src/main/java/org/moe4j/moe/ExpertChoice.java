package org.moe4j.moe;

import org.moe4j.common.Moe4jException;
import org.moe4j.kernel.TopK;
import org.moe4j.tensor.Tensor;

/**
 * Expert-choice routing (Zhou et al. 2022, "Mixture-of-Experts with Expert Choice Routing"): instead of tokens
 * picking experts, each expert picks its top-c tokens by router probability, so every expert is exactly full and a
 * token may be processed by anywhere from 0 to all experts.
 *
 * <p>Ties go to the lower token index (the order of {@link TopK}), so a choice depends only on the scores.
 */
public final class ExpertChoice {
    /**
     * The chosen (token, expert) pairs and their scores, sorted by token and then by expert: parallel arrays of
     * length experts * capacity.
     */
    public record Selection(int[] token, int[] expert, double[] score) {
        public int size() {
            return token.length;
        }

        /** How many experts chose each of {@code tokens} tokens. */
        public int[] expertsPerToken(int tokens) {
            int[] count = new int[tokens];
            for (int t : token) count[t]++;
            return count;
        }
    }

    private ExpertChoice() {}

    /** Each expert's top-{@code capacity} tokens of probs [tokens, experts] (F32 or F64), 0 <= capacity <= tokens. */
    public static Selection select(Tensor probs, int capacity) {
        double[] p = RoutingInput.matrix("expertChoice", probs);
        int tokens = probs.dim(0);
        int experts = probs.dim(1);
        if (capacity < 0 || capacity > tokens) {
            throw new Moe4jException("expertChoice: capacity " + capacity + " must be between 0 and the " + tokens
                    + " tokens, since an expert picks distinct tokens; capacity(tokens, experts, factor) clamps it");
        }
        int pairs = experts * capacity;
        if (capacity == 0) return new Selection(new int[0], new int[0], new double[0]);
        // Row e of the transposed matrix holds expert e's scores over the tokens: its top-c are the expert's picks.
        int[] picked = TopK.topK(probs.transpose(0, 1), capacity, 1).indices().data(); // [experts, capacity]
        // Counting sort by token; walking the experts in ascending order keeps each token's experts sorted.
        int[] start = new int[tokens + 1];
        for (int t : picked) start[t + 1]++;
        for (int t = 0; t < tokens; t++) start[t + 1] += start[t];
        int[] token = new int[pairs];
        int[] expert = new int[pairs];
        double[] score = new double[pairs];
        for (int e = 0; e < experts; e++) {
            for (int j = 0; j < capacity; j++) {
                int t = picked[e * capacity + j];
                int at = start[t]++;
                token[at] = t;
                expert[at] = e;
                score[at] = p[t * experts + e];
            }
        }
        return new Selection(token, expert, score);
    }

    /**
     * Tokens per expert for a capacity factor: {@code ceil(tokens * factor / experts)}, between 1 and {@code tokens}
     * (0 without tokens). A quotient within 1e-9 of a whole number counts as that number, so 10 tokens x 1.2 / 4
     * experts is 3, where floating point alone would make it 3.0000000000000004 and round up to 4.
     */
    public static int capacity(int tokens, int experts, double capacityFactor) {
        if (tokens < 0 || experts < 1) {
            throw new Moe4jException("expertChoice.capacity: needs tokens >= 0 and experts >= 1, got tokens=" + tokens
                    + ", experts=" + experts);
        }
        if (!(capacityFactor > 0) || Double.isInfinite(capacityFactor)) {
            throw new Moe4jException("expertChoice.capacity: the capacity factor must be positive and finite, got "
                    + capacityFactor);
        }
        double exact = (double) tokens * capacityFactor / experts;
        double whole = Math.rint(exact);
        double c = Math.abs(exact - whole) <= 1e-9 * Math.max(1, exact) ? whole : Math.ceil(exact);
        return tokens == 0 ? 0 : (int) Math.max(1, Math.min(c, tokens));
    }
}
