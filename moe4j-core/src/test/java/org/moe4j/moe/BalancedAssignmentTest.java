package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;

class BalancedAssignmentTest {
    private static float[] normal(Rng rng, int n) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = (float) rng.normal();
        return s;
    }

    private static float[] integers(Rng rng, int n, int bound) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = rng.nextInt(bound);
        return s;
    }

    private static int[] loads(int[] expertOfToken, int experts) {
        int[] load = new int[experts];
        for (int e : expertOfToken) load[e]++;
        return load;
    }

    /** The optimum by trying every assignment that fits the capacity (tiny cases only). */
    private static double bruteForce(float[] s, int tokens, int experts, int capacity) {
        return bruteForce(s, 0, tokens, experts, new int[experts], capacity);
    }

    private static double bruteForce(float[] s, int t, int tokens, int experts, int[] load, int capacity) {
        if (t == tokens) return 0;
        double best = Double.NEGATIVE_INFINITY;
        for (int e = 0; e < experts; e++) {
            if (load[e] == capacity) continue;
            load[e]++;
            best = Math.max(best, s[t * experts + e] + bruteForce(s, t + 1, tokens, experts, load, capacity));
            load[e]--;
        }
        return best;
    }

    /**
     * The optimum by the Hungarian method (shortest augmenting paths with potentials) over the slot expansion:
     * token rows, {@code experts * capacity} slot columns, cost = -score; rows <= columns.
     */
    private static double hungarian(float[] s, int tokens, int experts, int capacity) {
        int n = tokens;
        int m = experts * capacity;
        double[] u = new double[n + 1];
        double[] v = new double[m + 1];
        int[] rowOfCol = new int[m + 1];
        int[] way = new int[m + 1];
        for (int i = 1; i <= n; i++) {
            rowOfCol[0] = i;
            int col = 0;
            double[] minv = new double[m + 1];
            Arrays.fill(minv, Double.POSITIVE_INFINITY);
            boolean[] used = new boolean[m + 1];
            do {
                used[col] = true;
                int row = rowOfCol[col];
                double delta = Double.POSITIVE_INFINITY;
                int next = -1;
                for (int j = 1; j <= m; j++) {
                    if (used[j]) continue;
                    double cur = -s[(row - 1) * experts + (j - 1) / capacity] - u[row] - v[j];
                    if (cur < minv[j]) {
                        minv[j] = cur;
                        way[j] = col;
                    }
                    if (minv[j] < delta) {
                        delta = minv[j];
                        next = j;
                    }
                }
                for (int j = 0; j <= m; j++) {
                    if (used[j]) {
                        u[rowOfCol[j]] += delta;
                        v[j] -= delta;
                    } else {
                        minv[j] -= delta;
                    }
                }
                col = next;
            } while (rowOfCol[col] != 0);
            do {
                int prev = way[col];
                rowOfCol[col] = rowOfCol[prev];
                col = prev;
            } while (col != 0);
        }
        double total = 0;
        for (int j = 1; j <= m; j++) {
            if (rowOfCol[j] != 0) total += s[(rowOfCol[j] - 1) * experts + (j - 1) / capacity];
        }
        return total;
    }

    /** Switch-style routing with a capacity: tokens in order take their best expert that still has room. */
    private static double capacityGreedy(float[] s, int tokens, int experts, int capacity) {
        int[] load = new int[experts];
        double total = 0;
        for (int t = 0; t < tokens; t++) {
            int best = -1;
            for (int e = 0; e < experts; e++) {
                if (load[e] < capacity && (best < 0 || s[t * experts + e] > s[t * experts + best])) best = e;
            }
            load[best]++;
            total += s[t * experts + best];
        }
        return total;
    }

    @Test
    void theHungarianOracleAgreesWithBruteForce() {
        Rng rng = new Rng(1);
        for (int trial = 0; trial < 30; trial++) {
            int experts = 1 + rng.nextInt(3);
            int capacity = 1 + rng.nextInt(3);
            int tokens = Math.max(1, experts * capacity - rng.nextInt(3));
            float[] s = normal(rng, tokens * experts);
            assertEquals(bruteForce(s, tokens, experts, capacity), hungarian(s, tokens, experts, capacity), 1e-9);
        }
    }

    @Test
    void everyExpertGetsExactlyItsShare() {
        Rng rng = new Rng(2);
        for (int trial = 0; trial < 40; trial++) {
            int experts = 1 + rng.nextInt(9);
            int share = 1 + rng.nextInt(12);
            int tokens = experts * share;
            float[] s = normal(rng, tokens * experts);
            for (int t = 0; t < tokens; t++) s[t * experts] += 3; // everyone prefers expert 0
            int[] expert = BalancedAssignment.assign(s, tokens, experts);
            int[] expected = new int[experts];
            Arrays.fill(expected, share);
            assertArrayEquals(expected, loads(expert, experts), "experts=" + experts + " share=" + share);
        }
    }

    @Test
    void totalScoreIsWithinSlotsTimesEpsilonOfTheOptimum() {
        Rng rng = new Rng(3);
        for (int trial = 0; trial < 60; trial++) {
            int experts = 2 + rng.nextInt(5);
            int capacity = 1 + rng.nextInt(8);
            int tokens = trial % 2 == 0 ? experts * capacity : experts * capacity - rng.nextInt(capacity + 1);
            float[] s = normal(rng, tokens * experts);
            double eps = trial % 3 == 0 ? 0.05 : 1e-3;
            BalancedAssignment.Result r = BalancedAssignment.solve(s, tokens, experts, capacity, eps, 10_000_000);
            assertTrue(r.converged());
            for (int load : loads(r.expertOfToken(), experts)) assertTrue(load <= capacity);
            double optimum = hungarian(s, tokens, experts, capacity);
            double total = BalancedAssignment.totalScore(s, experts, r.expertOfToken());
            assertTrue(total <= optimum + 1e-9, "better than the optimum? " + total + " > " + optimum);
            assertTrue(optimum - total <= experts * capacity * eps + 1e-9,
                    "trial " + trial + ": gap " + (optimum - total) + " exceeds slots * epsilon");
        }
    }

    @Test
    void integerScoresWithEpsilonBelowOneOverSlotsAreExactlyOptimal() {
        Rng rng = new Rng(4);
        for (int trial = 0; trial < 60; trial++) {
            int experts = 2 + rng.nextInt(5);
            int capacity = 1 + rng.nextInt(7);
            int tokens = experts * capacity - (trial % 2) * rng.nextInt(capacity + 1);
            float[] s = integers(rng, tokens * experts, trial % 3 == 0 ? 3 : 50); // few values: many ties
            int slots = experts * capacity;
            BalancedAssignment.Result r = BalancedAssignment.solve(s, tokens, experts, capacity, 0.99 / slots,
                    10_000_000);
            assertEquals(hungarian(s, tokens, experts, capacity), BalancedAssignment.totalScore(s, experts,
                    r.expertOfToken()), 0, "trial " + trial);
        }
        // The default epsilon is within DEFAULT_GAP of the score range, too.
        float[] s = integers(rng, 24 * 4, 100);
        double total = BalancedAssignment.totalScore(s, 4, BalancedAssignment.assign(s, 24, 4));
        assertEquals(hungarian(s, 24, 4, 6), total, 100 * BalancedAssignment.DEFAULT_GAP);
    }

    @Test
    void beatsCapacityGreedyWhereTheFirstTokenTakesTheContestedExpert() {
        // Both tokens like expert 0 most, but token 1 has nowhere else to go: 9 + 10 beats 10 + 0.
        float[] s = {10, 9, 10, 0};
        assertArrayEquals(new int[] {1, 0}, BalancedAssignment.assign(s, 2, 2));
        assertEquals(19, BalancedAssignment.totalScore(s, 2, BalancedAssignment.assign(s, 2, 2)));
        assertEquals(10, capacityGreedy(s, 2, 2, 1));
        assertArrayEquals(new int[] {0, 0}, BalancedAssignment.greedy(s, 2, 2));
        // And on random skewed scores it never does worse than the greedy with a capacity.
        Rng rng = new Rng(5);
        int better = 0;
        for (int trial = 0; trial < 20; trial++) {
            float[] r = normal(rng, 32 * 4);
            for (int t = 0; t < 32; t++) r[t * 4 + 1] += 1;
            double auction = BalancedAssignment.totalScore(r, 4, BalancedAssignment.assign(r, 32, 4));
            double greedy = capacityGreedy(r, 32, 4, 8);
            assertTrue(auction >= greedy - 1e-9);
            if (auction > greedy + 0.1) better++;
        }
        assertTrue(better >= 15, "the auction beat the capacity greedy clearly only " + better + " of 20 times");
    }

    @Test
    void anAlreadyBalancedArgmaxIsReturnedWithoutBidding() {
        float[] s = {1, 5, 7, 2, 0, 3, 4, 1}; // argmax [1, 0, 1, 0]: two tokens each
        BalancedAssignment.Result r = BalancedAssignment.solve(s, 4, 2, 2);
        assertArrayEquals(new int[] {1, 0, 1, 0}, r.expertOfToken());
        assertEquals(0, r.bids());
        assertArrayEquals(new int[] {1, 0, 1, 0}, BalancedAssignment.greedy(Tensor.of(s, 4, 2)));
    }

    @Test
    void equalScoresStillBalanceAndTheAnswerIsRepeatable() {
        float[] s = new float[12 * 3];
        int[] first = BalancedAssignment.assign(s, 12, 3);
        assertArrayEquals(new int[] {4, 4, 4}, loads(first, 3));
        assertArrayEquals(first, BalancedAssignment.assign(s, 12, 3));
        Rng rng = new Rng(6);
        float[] r = integers(rng, 48 * 6, 4);
        assertArrayEquals(BalancedAssignment.assign(r, 48, 6), BalancedAssignment.assign(r.clone(), 48, 6));
        assertArrayEquals(BalancedAssignment.assign(r, 48, 6), BalancedAssignment.assign(Tensor.of(r, 48, 6)));
    }

    @Test
    void aSpentBudgetStillGivesABalancedAnswer() {
        Rng rng = new Rng(7);
        float[] s = normal(rng, 40 * 4);
        for (int t = 0; t < 40; t++) s[t * 4 + 2] += 2;
        BalancedAssignment.Result r = BalancedAssignment.solve(s, 40, 4, 10, 1e-3, 5);
        assertFalse(r.converged());
        assertEquals(5, r.bids());
        assertArrayEquals(new int[] {10, 10, 10, 10}, loads(r.expertOfToken(), 4));
    }

    @Test
    void aLargeSkewedBatchIsFastAndBalanced() {
        Rng rng = new Rng(8);
        int tokens = 4096;
        int experts = 64;
        float[] s = normal(rng, tokens * experts);
        for (int t = 0; t < tokens; t++) s[t * experts + t % 3] += 2; // three popular experts
        long start = System.nanoTime();
        BalancedAssignment.Result r = BalancedAssignment.solve(s, tokens, experts, tokens / experts);
        double ms = (System.nanoTime() - start) / 1e6;
        System.out.printf("balancedAssignment %dx%d: %.0f ms, %d bids%n", tokens, experts, ms, r.bids());
        assertTrue(r.converged());
        int[] expected = new int[experts];
        Arrays.fill(expected, tokens / experts);
        assertArrayEquals(expected, loads(r.expertOfToken(), experts));
    }

    @Test
    void misuseIsReportedClearly() {
        float[] s = new float[10 * 4];
        Moe4jException e = assertThrows(Moe4jException.class, () -> BalancedAssignment.assign(s, 10, 4));
        assertTrue(e.getMessage().contains("10 tokens do not split evenly over 4 experts"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> BalancedAssignment.assign(s, 10, 4, 2));
        assertTrue(e.getMessage().contains("capacity 2 per expert is too small"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> BalancedAssignment.assign(s, 10, 3, 4));
        assertTrue(e.getMessage().contains("scores hold 40 values"), e.getMessage());
        float[] nan = new float[8];
        nan[5] = Float.NaN;
        e = assertThrows(Moe4jException.class, () -> BalancedAssignment.assign(nan, 4, 2));
        assertTrue(e.getMessage().contains("at token 2, expert 1 is not finite"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> BalancedAssignment.solve(s, 10, 4, 3, 0, 100));
        assertTrue(e.getMessage().contains("epsilon must be positive"), e.getMessage());
        assertThrows(Moe4jException.class, () -> BalancedAssignment.assign(Tensor.zeros(2, 3, 4)));
    }
}
