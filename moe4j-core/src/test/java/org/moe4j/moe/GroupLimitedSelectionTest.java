package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.kernel.TopK;
import org.moe4j.moe.GroupLimitedSelection.GroupScore;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class GroupLimitedSelectionTest {
    /** Indices 0..n-1 sorted by descending value, ties to the lower index. */
    private static Integer[] sortDescending(double[] values) {
        Integer[] order = new Integer[values.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -values[i]).thenComparingInt(i -> i));
        return order;
    }

    /** Sort every group to score it, sort the groups, then sort the allowed experts: the definition, spelled out. */
    private static int[] bruteForce(GroupLimitedSelection sel, double[] row) {
        int size = sel.groupSize();
        double[] groupScore = new double[sel.groups()];
        for (int g = 0; g < sel.groups(); g++) {
            double[] members = Arrays.copyOfRange(row, g * size, (g + 1) * size);
            Arrays.sort(members);
            groupScore[g] = sel.groupScore() == GroupScore.MAX ? members[size - 1]
                    : members[size - 1] + members[size - 2];
        }
        Integer[] groupOrder = sortDescending(groupScore);
        double[] allowed = new double[row.length];
        Arrays.fill(allowed, Double.NEGATIVE_INFINITY);
        for (int r = 0; r < sel.topkGroups(); r++) {
            int g = groupOrder[r];
            System.arraycopy(row, g * size, allowed, g * size, size);
        }
        Integer[] expertOrder = sortDescending(allowed);
        int[] out = new int[sel.k()];
        for (int j = 0; j < sel.k(); j++) out[j] = expertOrder[j];
        return out;
    }

    @Test
    void matchesBruteForceOnRandomConfigurations() {
        Rng rng = new Rng(41);
        for (int trial = 0; trial < 200; trial++) {
            int groups = 1 + rng.nextInt(8);
            int size = 2 + rng.nextInt(6);
            int topkGroups = 1 + rng.nextInt(groups);
            int k = 1 + rng.nextInt(topkGroups * size);
            GroupScore mode = trial % 2 == 0 ? GroupScore.MAX : GroupScore.TOP2_SUM;
            GroupLimitedSelection sel = new GroupLimitedSelection(groups * size, groups, topkGroups, k, mode);
            int tokens = 1 + rng.nextInt(9);
            Tensor scores = TestData.randn(rng, tokens, groups * size);
            if (trial % 3 == 0) { // coarse values: ties among experts and among groups
                float[] d = scores.floats();
                for (int i = 0; i < d.length; i++) d[i] = Math.round(d[i]);
            }
            IntTensor got = sel.select(scores);
            assertArrayEquals(new int[] {tokens, k}, got.shape());
            double[] all = scores.toDoubleArray();
            for (int t = 0; t < tokens; t++) {
                double[] row = Arrays.copyOfRange(all, t * groups * size, (t + 1) * groups * size);
                assertArrayEquals(bruteForce(sel, row), Arrays.copyOfRange(got.data(), t * k, (t + 1) * k),
                        sel + " token " + t);
            }
            assertArrayEquals(got.data(), sel.select(scores.toFloatArray(), tokens));
        }
    }

    @Test
    void withEveryGroupAllowedItIsPlainTopK() {
        Rng rng = new Rng(42);
        Tensor scores = TestData.randn(rng, 300, 64);
        GroupLimitedSelection sel = new GroupLimitedSelection(64, 8, 8, 6, GroupScore.TOP2_SUM);
        assertEquals(TopK.topK(scores, 6, 1).indices(), sel.select(scores));
    }

    @Test
    void theGroupLimitKeepsATokenOffItsSecondBestGroup() {
        // Experts 0-1 | 2-3 | 4-5: the best two experts, 1 and 4, sit in different groups.
        Tensor scores = Tensor.of(new float[] {0.1f, 0.9f, 0.2f, 0.3f, 0.8f, 0.7f}, 1, 6);
        assertArrayEquals(new int[] {1, 4}, TopK.topK(scores, 2, 1).indices().data());
        // V2 keeps the group of the best expert (0.9); V3 keeps the group with the best pair (0.8 + 0.7 = 1.5).
        assertArrayEquals(new int[] {1, 0}, new GroupLimitedSelection(6, 3, 1, 2, GroupScore.MAX).select(scores).data());
        assertArrayEquals(new int[] {4, 5},
                new GroupLimitedSelection(6, 3, 1, 2, GroupScore.TOP2_SUM).select(scores).data());
        assertArrayEquals(new int[] {1, 4, 5},
                new GroupLimitedSelection(6, 3, 2, 3, GroupScore.MAX).select(scores).data());
    }

    @Test
    void aBiasInTheSelectionScoresMovesTheChoice() {
        // V3 selects with score + bias: lifting expert 2's bias moves its group and the expert into the top-k.
        float[] gate = {0.5f, 0.4f, 0.3f, 0.1f};
        float[] biased = gate.clone();
        biased[2] += 1.0f; // group 1 now scores 1.3 + 0.1 against 0.5 + 0.4
        GroupLimitedSelection sel = new GroupLimitedSelection(4, 2, 1, 1, GroupScore.TOP2_SUM);
        assertArrayEquals(new int[] {0}, sel.select(gate, 1));
        assertArrayEquals(new int[] {2}, sel.select(biased, 1));
    }

    @Test
    void tiesGoToTheLowerGroupAndExpert() {
        GroupLimitedSelection sel = new GroupLimitedSelection(8, 4, 2, 3, GroupScore.TOP2_SUM);
        assertArrayEquals(new int[] {0, 1, 2, 0, 1, 2}, sel.select(Tensor.zeros(2, 8)).data());
        Tensor scores = Tensor.of(new float[] {0, 1, 1, 0, 0, 1, 1, 0}, 1, 8); // every group scores 1 (MAX)
        assertArrayEquals(new int[] {1, 2}, new GroupLimitedSelection(8, 4, 2, 2, GroupScore.MAX).select(scores).data());
        assertEquals(0, sel.select(Tensor.zeros(0, 8)).numel());
    }

    @Test
    void misuseIsReportedClearly() {
        Moe4jException e = assertThrows(Moe4jException.class,
                () -> new GroupLimitedSelection(10, 4, 2, 2, GroupScore.MAX));
        assertTrue(e.getMessage().contains("4 groups do not divide 10 experts"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> new GroupLimitedSelection(16, 4, 2, 9, GroupScore.MAX));
        assertTrue(e.getMessage().contains("k must be between 1 and the 8 experts in 2 groups of 4"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> new GroupLimitedSelection(16, 4, 5, 2, GroupScore.MAX));
        assertTrue(e.getMessage().contains("topkGroups must be between 1 and the 4 groups"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> new GroupLimitedSelection(4, 4, 2, 2, GroupScore.TOP2_SUM));
        assertTrue(e.getMessage().contains("TOP2_SUM needs at least 2 experts per group"), e.getMessage());
        assertThrows(Moe4jException.class, () -> new GroupLimitedSelection(4, 2, 1, 1, null));
        GroupLimitedSelection sel = new GroupLimitedSelection(8, 4, 2, 2, GroupScore.MAX);
        ShapeException s = assertThrows(ShapeException.class, () -> sel.select(Tensor.zeros(3, 6)));
        assertTrue(s.getMessage().contains("groupLimitedSelection: expects selection scores [tokens, 8], shape [3, 6]"),
                s.getMessage());
        e = assertThrows(Moe4jException.class, () -> sel.select(new float[] {0, 0, 0, Float.NaN, 0, 0, 0, 0}, 1));
        assertTrue(e.getMessage().contains("at token 0, expert 3 is not finite"), e.getMessage());
        assertTrue(sel.toString().contains("topkGroups=2"), sel.toString());
    }
}
