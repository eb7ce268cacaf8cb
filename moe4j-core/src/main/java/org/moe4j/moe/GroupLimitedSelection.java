package org.moe4j.moe;

import org.moe4j.common.Moe4jException;
import org.moe4j.common.ShapeException;
import org.moe4j.kernel.Parallel;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Group-limited top-k routing of DeepSeek-V2 ("device-limited routing", 2024) and DeepSeek-V3 ("node-limited
 * routing", 2024): the experts form equal groups, each token first keeps its best {@code topkGroups} groups by a
 * group score, then takes its top-k experts among those groups only, which bounds how many devices a token visits.
 *
 * <p>V2 scores a group by its best expert ({@link GroupScore#MAX}); V3 by the sum of its best two
 * ({@link GroupScore#TOP2_SUM}). The scores given here only select: V3 selects with score + load-balancing bias but
 * weighs the chosen experts by the unbiased score, so the caller gathers its gates at the returned indices.
 * Ties go to the lower group and then the lower expert index; each token's experts come best first.
 *
 * @param experts    experts in all, numbered so that group g holds experts {@code g*groupSize .. (g+1)*groupSize-1}
 * @param groups     groups, dividing experts
 * @param topkGroups groups each token may use, 1..groups
 * @param k          experts per token, 1..topkGroups*groupSize
 */
public record GroupLimitedSelection(int experts, int groups, int topkGroups, int k, GroupScore groupScore) {
    private static final int GRAIN = 1 << 14; // scores per task

    /** How a group's expert scores become one group score. */
    public enum GroupScore {
        /** DeepSeek-V2: the group's highest score. */
        MAX,
        /** DeepSeek-V3: the sum of the group's two highest scores. */
        TOP2_SUM
    }

    public GroupLimitedSelection {
        String self = "groupLimitedSelection(experts=" + experts + ", groups=" + groups + ", topkGroups=" + topkGroups
                + ", k=" + k + ", " + groupScore + "): ";
        if (groupScore == null) throw new Moe4jException(self + "needs a group score, MAX (V2) or TOP2_SUM (V3)");
        if (experts < 1 || groups < 1 || experts % groups != 0) {
            throw new Moe4jException(self + groups + " groups do not divide " + experts + " experts into equal groups");
        }
        int groupSize = experts / groups;
        if (topkGroups < 1 || topkGroups > groups) {
            throw new Moe4jException(self + "topkGroups must be between 1 and the " + groups + " groups");
        }
        if (k < 1 || k > topkGroups * groupSize) {
            throw new Moe4jException(self + "k must be between 1 and the " + topkGroups * groupSize
                    + " experts in " + topkGroups + " groups of " + groupSize);
        }
        if (groupScore == GroupScore.TOP2_SUM && groupSize < 2) {
            throw new Moe4jException(self + "TOP2_SUM needs at least 2 experts per group, the groups hold " + groupSize);
        }
    }

    public int groupSize() {
        return experts / groups;
    }

    /** Each token's k experts from selection scores [tokens, experts]: indices [tokens, k], best first. */
    public IntTensor select(Tensor selectionScores) {
        if (selectionScores.rank() != 2 || selectionScores.dim(1) != experts) {
            throw ShapeException.of("groupLimitedSelection", "expects selection scores [tokens, " + experts + "]",
                    selectionScores.shape());
        }
        int tokens = selectionScores.dim(0);
        double[] s = RoutingInput.matrix("groupLimitedSelection", selectionScores);
        return new IntTensor(select(s, tokens), new int[] {tokens, k});
    }

    /** As {@link #select(Tensor)} over a row-major array; returns [tokens, k] row-major. */
    public int[] select(float[] selectionScores, int tokens) {
        RoutingInput.checkArray("groupLimitedSelection", selectionScores, tokens, experts);
        double[] s = new double[selectionScores.length];
        for (int i = 0; i < s.length; i++) s[i] = selectionScores[i];
        return select(s, tokens);
    }

    private int[] select(double[] s, int tokens) {
        int[] out = new int[tokens * k];
        Parallel.forRange(tokens, Math.max(1, GRAIN / experts), (from, to) -> {
            double[] groupScores = new double[groups];
            boolean[] kept = new boolean[groups];
            double[] bestVal = new double[k];
            for (int t = from; t < to; t++) selectRow(s, t * experts, groupScores, kept, bestVal, out, t * k);
        });
        return out;
    }

    private void selectRow(double[] s, int row, double[] groupScores, boolean[] kept, double[] bestVal, int[] out,
            int at) {
        int size = groupSize();
        for (int g = 0; g < groups; g++) {
            double first = Double.NEGATIVE_INFINITY;
            double second = Double.NEGATIVE_INFINITY;
            for (int e = g * size; e < (g + 1) * size; e++) {
                double v = s[row + e];
                if (v > first) {
                    second = first;
                    first = v;
                } else if (v > second) {
                    second = v;
                }
            }
            groupScores[g] = groupScore == GroupScore.MAX ? first : first + second;
            kept[g] = false;
        }
        for (int r = 0; r < topkGroups; r++) { // topkGroups passes; strict > keeps the lower group on ties
            int best = -1;
            for (int g = 0; g < groups; g++) {
                if (!kept[g] && (best < 0 || groupScores[g] > groupScores[best])) best = g;
            }
            kept[best] = true;
        }
        // Insertion into a descending list: experts arrive in ascending order and only a strictly better score
        // moves ahead of an equal one, so ties keep the lower index first.
        int filled = 0;
        for (int g = 0; g < groups; g++) {
            if (!kept[g]) continue;
            for (int e = g * size; e < (g + 1) * size; e++) {
                double v = s[row + e];
                if (filled == k && !(v > bestVal[k - 1])) continue;
                int i = filled == k ? k - 1 : filled++;
                while (i > 0 && v > bestVal[i - 1]) {
                    bestVal[i] = bestVal[i - 1];
                    out[at + i] = out[at + i - 1];
                    i--;
                }
                bestVal[i] = v;
                out[at + i] = e;
            }
        }
    }
}
