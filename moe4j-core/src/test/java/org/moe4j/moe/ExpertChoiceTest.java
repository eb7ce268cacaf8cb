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
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class ExpertChoiceTest {
    /** Expert e's picks by sorting all tokens: higher score first, then lower token index. */
    private static int[] bruteForcePicks(Tensor probs, int e, int capacity) {
        Integer[] order = new Integer[probs.dim(0)];
        for (int t = 0; t < order.length; t++) order[t] = t;
        Arrays.sort(order, Comparator.<Integer>comparingDouble(t -> -probs.getDouble(t, e)).thenComparingInt(t -> t));
        int[] picks = new int[capacity];
        for (int j = 0; j < capacity; j++) picks[j] = order[j];
        Arrays.sort(picks);
        return picks;
    }

    private static void assertValid(Tensor probs, int capacity, ExpertChoice.Selection s) {
        int tokens = probs.dim(0);
        int experts = probs.dim(1);
        assertEquals(experts * capacity, s.size());
        for (int i = 1; i < s.size(); i++) {
            boolean ordered = s.token()[i - 1] < s.token()[i]
                    || (s.token()[i - 1] == s.token()[i] && s.expert()[i - 1] < s.expert()[i]);
            assertTrue(ordered, "pair " + i + " is out of token-major order");
        }
        for (int e = 0; e < experts; e++) {
            int[] picks = new int[capacity];
            int n = 0;
            for (int i = 0; i < s.size(); i++) {
                if (s.expert()[i] == e) picks[n++] = s.token()[i];
            }
            assertEquals(capacity, n, "expert " + e + " got " + n + " tokens");
            assertArrayEquals(bruteForcePicks(probs, e, capacity), picks, "expert " + e);
        }
        for (int i = 0; i < s.size(); i++) {
            assertEquals(probs.getDouble(s.token()[i], s.expert()[i]), s.score()[i], 0);
        }
        assertEquals(tokens, s.expertsPerToken(tokens).length);
    }

    @Test
    void everyExpertPicksExactlyItsTopCapacityTokens() {
        Rng rng = new Rng(21);
        int[][] shapes = {{16, 4}, {33, 7}, {100, 8}, {5, 5}, {1, 3}};
        for (int[] shape : shapes) {
            Tensor probs = TestData.uniform(rng, 0, 1, shape);
            for (int capacity : new int[] {1, (shape[0] + 1) / 2, shape[0]}) {
                assertValid(probs, capacity, ExpertChoice.select(probs, capacity));
            }
        }
        Tensor f64 = TestData.randn64(rng, 20, 6);
        assertValid(f64, 5, ExpertChoice.select(f64, 5));
        Tensor strided = TestData.randn(rng, 6, 20).transpose(0, 1); // [20, 6], not contiguous
        assertValid(strided, 7, ExpertChoice.select(strided, 7));
    }

    @Test
    void tiesGoToTheLowerTokenAndPairsAreTokenMajor() {
        Tensor equal = Tensor.full(0.25f, 4, 3);
        ExpertChoice.Selection s = ExpertChoice.select(equal, 2);
        assertArrayEquals(new int[] {0, 0, 0, 1, 1, 1}, s.token());
        assertArrayEquals(new int[] {0, 1, 2, 0, 1, 2}, s.expert());
        assertArrayEquals(new int[] {3, 3, 0, 0}, s.expertsPerToken(4));
        // Quantized scores: many ties among tokens, checked against the sort.
        Rng rng = new Rng(22);
        Tensor probs = TestData.uniform(rng, 0, 1, 40, 5);
        float[] d = probs.floats();
        for (int i = 0; i < d.length; i++) d[i] = Math.round(d[i] * 3) / 3f;
        assertValid(probs, 11, ExpertChoice.select(probs, 11));
    }

    @Test
    void aTokenMayBeChosenByEveryExpertOrByNone() {
        Tensor probs = Tensor.of(new float[] {
            0.9f, 0.8f, 0.7f, // token 0: every expert's favourite
            0.1f, 0.1f, 0.1f, // token 1: nobody's
            0.0f, 0.5f, 0.2f,
            0.3f, 0.0f, 0.6f}, 4, 3);
        ExpertChoice.Selection s = ExpertChoice.select(probs, 2);
        assertArrayEquals(new int[] {3, 0, 1, 2}, s.expertsPerToken(4));
        assertArrayEquals(new int[] {0, 0, 0, 2, 3, 3}, s.token());
        assertArrayEquals(new int[] {0, 1, 2, 1, 0, 2}, s.expert());
        assertArrayEquals(new double[] {0.9f, 0.8f, 0.7f, 0.5f, 0.3f, 0.6f}, s.score());
        assertEquals(0, ExpertChoice.select(probs, 0).size());
    }

    @Test
    void capacityIsTheCeilingOfTheFairShareClampedToTheTokens() {
        assertEquals(3, ExpertChoice.capacity(10, 4, 1.2)); // 10 * 1.2 / 4 = 3 exactly, despite rounding
        assertEquals(3, ExpertChoice.capacity(10, 4, 1.0)); // ceil(2.5)
        assertEquals(2, ExpertChoice.capacity(8, 4, 1.0));
        assertEquals(5, ExpertChoice.capacity(8, 4, 2.5));
        assertEquals(8, ExpertChoice.capacity(8, 2, 4.0)); // 16 clamped to the 8 tokens
        assertEquals(1, ExpertChoice.capacity(5, 4, 1e-12));
        assertEquals(0, ExpertChoice.capacity(0, 4, 2.0));
        assertEquals(ExpertChoice.capacity(4096, 64, 2.0), 128);
        Moe4jException e = assertThrows(Moe4jException.class, () -> ExpertChoice.capacity(8, 4, 0));
        assertTrue(e.getMessage().contains("capacity factor must be positive"), e.getMessage());
        assertThrows(Moe4jException.class, () -> ExpertChoice.capacity(8, 4, Double.NaN));
        assertThrows(Moe4jException.class, () -> ExpertChoice.capacity(8, 0, 1));
    }

    @Test
    void misuseIsReportedClearly() {
        Tensor probs = Tensor.zeros(DType.F32, 4, 3);
        Moe4jException e = assertThrows(Moe4jException.class, () -> ExpertChoice.select(probs, 5));
        assertTrue(e.getMessage().contains("capacity 5 must be between 0 and the 4 tokens"), e.getMessage());
        assertThrows(Moe4jException.class, () -> ExpertChoice.select(probs, -1));
        probs.set(Double.NaN, 3, 2);
        e = assertThrows(Moe4jException.class, () -> ExpertChoice.select(probs, 1));
        assertTrue(e.getMessage().contains("expertChoice: score NaN at token 3, expert 2"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> ExpertChoice.select(Tensor.zeros(2, 2, 2), 1));
        assertTrue(e.getMessage().contains("[tokens, experts]"), e.getMessage());
    }
}
