package org.moe4j.moe;

import java.util.Arrays;
import org.moe4j.common.Moe4jException;

/**
 * The permutation that makes each expert's tokens contiguous. Row {@code r} of the permuted batch holds token
 * {@code rowToken[r]} for assignment {@code rowAssignment[r]}; expert e owns rows {@code offsets[e] ..
 * offsets[e+1]-1}. Within an expert, rows keep assignment order (token order for token-choice routers), so the
 * plan for a token never depends on where other tokens sit in the batch. Capacity-limited plans leave out the
 * overflow, and count it.
 *
 * @param rowToken      [R] token of each permuted row
 * @param rowAssignment [R] assignment index of each permuted row
 * @param offsets       [experts + 1] group boundaries in the permuted rows
 * @param dropped       [experts] assignments each expert refused for lack of capacity
 * @param capacity      the per-expert capacity, or -1 when dropless
 */
public record DispatchPlan(int[] rowToken, int[] rowAssignment, int[] offsets, int[] dropped, int capacity) {

    /** Every assignment is kept: the default, and what inference always uses. */
    public static DispatchPlan dropless(Assignments a) {
        return build(a, -1, DropOrder.POSITION);
    }

    /**
     * Each expert keeps at most {@code capacity = ceil(factor * tokens * k / experts)} assignments, chosen by
     * {@code order}; {@code k} is the mean number of assignments per token.
     */
    public static DispatchPlan withCapacity(Assignments a, double factor, DropOrder order) {
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new Moe4jException("capacity factor must be positive and finite, got " + factor);
        }
        int capacity = (int) Math.ceil(factor * a.size() / a.experts());
        return build(a, capacity, order);
    }

    /** The capacity a factor gives for this many assignments (for reporting and tests). */
    public static int capacityFor(double factor, int assignments, int experts) {
        return (int) Math.ceil(factor * assignments / experts);
    }

    private static DispatchPlan build(Assignments a, int capacity, DropOrder order) {
        int experts = a.experts();
        int n = a.size();
        // Counting sort by expert; stable, so each expert's rows stay in assignment order.
        int[] count = new int[experts];
        for (int e : a.expert()) count[e]++;
        int[] start = new int[experts + 1];
        for (int e = 0; e < experts; e++) start[e + 1] = start[e] + count[e];
        int[] sorted = new int[n];
        int[] fill = Arrays.copyOf(start, experts);
        for (int i = 0; i < n; i++) sorted[fill[a.expert()[i]]++] = i;

        int[] dropped = new int[experts];
        int[] keptPerExpert = count.clone();
        if (capacity >= 0) {
            for (int e = 0; e < experts; e++) {
                if (count[e] <= capacity) continue;
                if (order == DropOrder.SCORE) sortSegmentByScore(sorted, start[e], start[e + 1], a.score());
                keptPerExpert[e] = capacity;
                dropped[e] = count[e] - capacity;
            }
        }
        int[] offsets = new int[experts + 1];
        for (int e = 0; e < experts; e++) offsets[e + 1] = offsets[e] + keptPerExpert[e];
        int rows = offsets[experts];
        int[] rowAssignment = new int[rows];
        int[] rowToken = new int[rows];
        for (int e = 0; e < experts; e++) {
            int[] segment = Arrays.copyOfRange(sorted, start[e], start[e] + keptPerExpert[e]);
            // Kept rows go back into assignment order, so the permuted layout does not depend on the drop order.
            Arrays.sort(segment);
            for (int j = 0; j < segment.length; j++) {
                rowAssignment[offsets[e] + j] = segment[j];
                rowToken[offsets[e] + j] = a.token()[segment[j]];
            }
        }
        return new DispatchPlan(rowToken, rowAssignment, offsets, dropped, capacity);
    }

    /** Sorts assignment indices by descending score, ties by assignment index. */
    private static void sortSegmentByScore(int[] idx, int from, int to, float[] score) {
        Integer[] boxed = new Integer[to - from];
        for (int i = from; i < to; i++) boxed[i - from] = idx[i];
        Arrays.sort(boxed, (x, y) -> {
            int c = Float.compare(score[y], score[x]);
            return c != 0 ? c : Integer.compare(x, y);
        });
        for (int i = from; i < to; i++) idx[i] = boxed[i - from];
    }

    public int rows() {
        return rowToken.length;
    }

    public int experts() {
        return offsets.length - 1;
    }

    public int totalDropped() {
        int s = 0;
        for (int d : dropped) s += d;
        return s;
    }

    /** Rows each expert computes. */
    public int[] keptPerExpert() {
        int[] kept = new int[experts()];
        for (int e = 0; e < kept.length; e++) kept[e] = offsets[e + 1] - offsets[e];
        return kept;
    }
}
