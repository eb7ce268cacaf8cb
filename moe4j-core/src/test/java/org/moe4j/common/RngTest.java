package org.moe4j.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RngTest {
    @Test
    void sameSeedSameStreamAndSplitsDiffer() {
        Rng a = new Rng(42);
        Rng b = new Rng(42);
        for (int i = 0; i < 100; i++) assertEquals(a.nextLong(), b.nextLong());
        Rng child = a.split();
        assertNotEquals(child.nextLong(), a.nextLong());
    }

    @Test
    void restoredStateContinuesExactly() {
        Rng a = new Rng(7);
        a.normal(); // leaves a spare normal behind, which the state must carry
        Rng b = Rng.restore(a.state());
        for (int i = 0; i < 10; i++) assertEquals(a.normal(), b.normal());
    }

    @Test
    void momentsOfUniformNormalAndBernoulli() {
        Rng rng = new Rng(1);
        int n = 200_000;
        double sumU = 0, sumN = 0, sumN2 = 0;
        int heads = 0;
        for (int i = 0; i < n; i++) {
            double u = rng.nextDouble();
            assertTrue(u >= 0 && u < 1);
            sumU += u;
            double z = rng.normal();
            sumN += z;
            sumN2 += z * z;
            if (rng.bernoulli(0.3)) heads++;
        }
        assertEquals(0.5, sumU / n, 0.005);
        assertEquals(0.0, sumN / n, 0.01);
        assertEquals(1.0, sumN2 / n, 0.01);
        assertEquals(0.3, (double) heads / n, 0.005);
    }

    @Test
    void nextIntIsUniformOverItsBound() {
        Rng rng = new Rng(3);
        int[] counts = new int[7];
        for (int i = 0; i < 70_000; i++) counts[rng.nextInt(7)]++;
        for (int c : counts) assertEquals(10_000, c, 400);
        int[] perm = {0, 1, 2, 3, 4};
        rng.shuffle(perm);
        int[] sorted = perm.clone();
        java.util.Arrays.sort(sorted);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, sorted);
    }
}
