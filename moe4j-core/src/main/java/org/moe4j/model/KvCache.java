package org.moe4j.model;

import java.util.Arrays;
import org.moe4j.common.Moe4jException;

/**
 * The keys and values of one sequence's past positions, per layer, for incremental decoding with
 * {@link TransformerLm#forwardIncremental}. The caller owns it (one per sequence), so one model serves many
 * sequences and threads at once; a cache is not itself thread-safe.
 *
 * <p>Keys are stored after the rotary embedding, in the layout the projections produce, so a decoding step
 * appends by one array copy and the attention reads the cache in place. The arrays start small and double
 * until they hold {@code maxLength} positions.
 */
public final class KvCache {
    private static final int INITIAL_CAPACITY = 64;

    private final int layers;
    private final int kvHeads;
    private final int headDim;
    private final int maxLength;
    private final float[][] keys; // [layers][capacity, kvHeads, headDim]
    private final float[][] values; // [layers][capacity, kvHeads, headDim]
    private int capacity;
    private int length;

    /** An empty cache for a model of this configuration, holding up to {@code config.maxSeqLen()} positions. */
    public KvCache(TransformerConfig config) {
        this(config, INITIAL_CAPACITY);
    }

    /** An empty cache whose arrays start with room for {@code initialCapacity} positions (capped at maxSeqLen). */
    public KvCache(TransformerConfig config, int initialCapacity) {
        if (initialCapacity <= 0) throw new Moe4jException("kv cache: initial capacity must be positive, got " + initialCapacity);
        this.layers = config.layers();
        this.kvHeads = config.kvHeads();
        this.headDim = config.headDim();
        this.maxLength = config.maxSeqLen();
        Math.multiplyExact(Math.multiplyExact(maxLength, kvHeads), headDim); // the largest array must be indexable
        this.capacity = Math.min(initialCapacity, maxLength);
        this.keys = new float[layers][capacity * kvHeads * headDim];
        this.values = new float[layers][capacity * kvHeads * headDim];
    }

    /** Positions cached so far: the position the next token will take. */
    public int length() {
        return length;
    }

    public int maxLength() {
        return maxLength;
    }

    /** Positions the arrays hold now, before they next grow. */
    public int capacity() {
        return capacity;
    }

    public int layers() {
        return layers;
    }

    public int kvHeads() {
        return kvHeads;
    }

    public int headDim() {
        return headDim;
    }

    /** Forgets every position, keeping the arrays, so the cache can serve a new sequence. */
    public void clear() {
        length = 0;
    }

    /** Throws, naming the limit, unless {@code tokens} more positions fit. */
    void checkRoom(int tokens) {
        if ((long) length + tokens > maxLength) {
            throw new Moe4jException("kv cache: " + tokens + " more token" + (tokens == 1 ? "" : "s") + " after "
                    + length + " cached would exceed the maximum of " + maxLength
                    + " positions (the model's maxSeqLen); start a new sequence or use a model with a longer maxSeqLen");
        }
    }

    /** Makes room for {@code tokens} more positions, or explains why there is none. */
    void reserve(int tokens) {
        checkRoom(tokens);
        int need = length + tokens;
        if (need <= capacity) return;
        int grown = capacity;
        while (grown < need) grown = (int) Math.min(maxLength, 2L * grown);
        int size = grown * kvHeads * headDim;
        for (int l = 0; l < layers; l++) {
            keys[l] = Arrays.copyOf(keys[l], size);
            values[l] = Arrays.copyOf(values[l], size);
        }
        capacity = grown;
    }

    /** Writes {@code tokens} positions of keys and values [tokens, kvHeads, headDim] after the cached ones. */
    void write(int layer, float[] k, int kOff, float[] v, int vOff, int tokens) {
        int width = kvHeads * headDim;
        System.arraycopy(k, kOff, keys[layer], length * width, tokens * width);
        System.arraycopy(v, vOff, values[layer], length * width, tokens * width);
    }

    /** Commits positions written to every layer. */
    void advance(int tokens) {
        length += tokens;
    }

    /** The key array of a layer, [capacity, kvHeads, headDim]; rows at and after {@link #length()} are scratch. */
    float[] keys(int layer) {
        return keys[layer];
    }

    float[] values(int layer) {
        return values[layer];
    }

    /** Whether this cache fits a model of {@code config}. */
    boolean fits(TransformerConfig config) {
        return config.layers() == layers && config.kvHeads() == kvHeads && config.headDim() == headDim
                && config.maxSeqLen() >= maxLength;
    }
}
