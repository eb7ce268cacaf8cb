package org.moe4j.moe;

import java.util.Arrays;
import java.util.PriorityQueue;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.IntTensor;

/**
 * Hash routing (Roller et al. 2021, "Hash Layers For Large Sparse Models"): a fixed, seeded map from token id to
 * expert with no learned router, so an id always goes to the same expert whatever else is in the batch.
 *
 * <p>The hash is the SplitMix64 finalizer of {@code mix(seed) + id * golden gamma}, reduced to an expert by the
 * high half of a 64-bit product, so experts need not be a power of two. The mapping is part of a trained model:
 * changing it breaks every checkpoint trained with it, and a test pins a few of its values. The paper's balanced
 * variant, {@link #balanced}, assigns known ids by frequency to the least-loaded expert and hashes the rest.
 */
public final class TokenHash {
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

    private final long seed;
    private final int experts;
    private final int[] table; // [vocabulary] expert per id from the balanced variant; empty for a pure hash

    public TokenHash(long seed, int experts) {
        this(seed, experts, new int[0]);
    }

    private TokenHash(long seed, int experts, int[] table) {
        if (experts < 1) throw new Moe4jException("tokenHash: needs at least one expert, got " + experts);
        this.seed = seed;
        this.experts = experts;
        this.table = table;
    }

    /**
     * The balanced variant: ids {@code 0 .. tokenCounts.length-1}, most frequent first (ties to the lower id), each
     * go to the expert with the least total count so far (ties to the lower expert); other ids use the seeded hash.
     * No expert's total then exceeds the mean by more than the largest single count.
     */
    public static TokenHash balanced(long[] tokenCounts, int experts, long seed) {
        if (experts < 1) throw new Moe4jException("tokenHash: needs at least one expert, got " + experts);
        Integer[] order = new Integer[tokenCounts.length];
        for (int id = 0; id < order.length; id++) {
            if (tokenCounts[id] < 0) {
                throw new Moe4jException("tokenHash.balanced: count " + tokenCounts[id] + " of token " + id
                        + " is negative");
            }
            order[id] = id;
        }
        Arrays.sort(order, (a, b) -> tokenCounts[a] != tokenCounts[b] ? Long.compare(tokenCounts[b], tokenCounts[a])
                : Integer.compare(a, b));
        long[] load = new long[experts];
        PriorityQueue<Integer> emptiest = new PriorityQueue<>(experts,
                (a, b) -> load[a] != load[b] ? Long.compare(load[a], load[b]) : Integer.compare(a, b));
        for (int e = 0; e < experts; e++) emptiest.add(e);
        int[] table = new int[tokenCounts.length];
        for (int id : order) {
            int e = emptiest.poll();
            table[id] = e;
            load[e] += tokenCounts[id];
            emptiest.add(e);
        }
        return new TokenHash(seed, experts, table);
    }

    public int experts() {
        return experts;
    }

    /** The expert of a (non-negative) token id; the same id always gives the same expert. */
    public int expertOf(int tokenId) {
        if (tokenId < 0) throw new Moe4jException("tokenHash: token id " + tokenId + " is negative");
        if (tokenId < table.length) return table[tokenId];
        long z = mix(mix(seed) + tokenId * GOLDEN_GAMMA);
        return (int) (((z >>> 32) * experts) >>> 32); // high 32 bits scaled to [0, experts)
    }

    /** The expert of every id, element for element. */
    public int[] expertsOf(int[] tokenIds) {
        int[] out = new int[tokenIds.length];
        for (int i = 0; i < out.length; i++) out[i] = expertOf(tokenIds[i]);
        return out;
    }

    /** The expert of every id, in the ids' shape. */
    public IntTensor route(IntTensor tokenIds) {
        return new IntTensor(expertsOf(tokenIds.data()), tokenIds.shape());
    }

    /** The SplitMix64 finalizer: every input bit affects every output bit. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    @Override
    public String toString() {
        return "TokenHash[seed=" + seed + ", experts=" + experts + ", balancedIds=" + table.length + "]";
    }
}
