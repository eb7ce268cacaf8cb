package org.moe4j.io.tokenizer;

import java.util.Arrays;

/**
 * A map from a pair of token ids to an int, without boxing: open addressing with linear probing over the pair
 * packed in a long. Not thread-safe while written; read-only use after construction is safe to share.
 */
final class PairMap {
    private static final long EMPTY = -1L; // no pair of non-negative ids packs to -1

    private long[] keys;
    private int[] values;
    private int size;

    PairMap(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new int[capacity];
        Arrays.fill(keys, EMPTY);
    }

    static long pack(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    static int left(long pair) {
        return (int) (pair >>> 32);
    }

    static int right(long pair) {
        return (int) pair;
    }

    int size() {
        return size;
    }

    /** The value of the pair, or -1 when absent. */
    int get(int left, int right) {
        long key = pack(left, right);
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == key) return values[i];
            if (k == EMPTY) return -1;
        }
    }

    /** Sets the pair's value; returns the previous one, or -1. */
    int put(int left, int right, int value) {
        if ((size + 1) * 2 > keys.length) grow();
        long key = pack(left, right);
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == key) {
                int old = values[i];
                values[i] = value;
                return old;
            }
            if (k == EMPTY) {
                keys[i] = key;
                values[i] = value;
                size++;
                return -1;
            }
        }
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new int[oldKeys.length * 2];
        Arrays.fill(keys, EMPTY);
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) put(left(oldKeys[i]), right(oldKeys[i]), oldValues[i]);
        }
    }
}
