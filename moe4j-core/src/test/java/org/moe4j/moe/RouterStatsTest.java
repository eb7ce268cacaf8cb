package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;

class RouterStatsTest {
    private static RouterStats stats(long[] routed, long[] dropped) {
        return new RouterStats("blocks.0.moe", 10, routed, dropped, 6.0, 10, null);
    }

    @Test
    void sharesAreFractionsOfAllAssignments() {
        RouterStats s = stats(new long[] {6, 2, 0, 0}, new long[] {1, 0, 0, 0});
        assertArrayEquals(new double[] {0.75, 0.25, 0, 0}, s.share(), 1e-12);
        assertEquals(8, s.totalRouted());
        assertEquals(1, s.totalDropped());
    }

    @Test
    void balancedLoadHasZeroCvAndMaxOverMeanOne() {
        RouterStats s = stats(new long[] {5, 5, 5, 5}, new long[4]);
        assertEquals(0, s.loadCv(), 1e-12);
        assertEquals(1, s.maxOverMean(), 1e-12);
        assertEquals(0, s.dropRate(), 1e-12);
    }

    @Test
    void skewedLoadHasTheCvAndRatioComputedByHand() {
        // mean 2, deviations 4, 0, -2, -2: population variance (16 + 0 + 4 + 4) / 4 = 6
        RouterStats s = stats(new long[] {6, 2, 0, 0}, new long[] {1, 0, 0, 0});
        assertEquals(Math.sqrt(6) / 2, s.loadCv(), 1e-12);
        assertEquals(3, s.maxOverMean(), 1e-12);
        assertEquals(1.0 / 8, s.dropRate(), 1e-12);
        assertEquals(0.6, s.meanEntropy(), 1e-12);
    }

    @Test
    void mergeSumsCountsAndKeepsTheNewerBias() {
        RouterStats a = new RouterStats("l", 4, new long[] {1, 3}, new long[] {0, 1}, 1.0, 4, new double[] {0.1, 0.2});
        RouterStats b = new RouterStats("l", 6, new long[] {4, 2}, new long[] {2, 0}, 2.0, 6, new double[] {0.3, 0.4});
        RouterStats m = a.merge(b);
        assertEquals(10, m.tokens());
        assertArrayEquals(new long[] {5, 5}, m.routed());
        assertArrayEquals(new long[] {2, 1}, m.dropped());
        assertEquals(0.3, m.meanEntropy(), 1e-12);
        assertArrayEquals(new double[] {0.3, 0.4}, m.bias());
        assertThrows(Moe4jException.class, () -> a.merge(RouterStats.empty("l", 3)));
    }

    @Test
    void jsonCarriesCountsDerivedFiguresAndEscapesTheName() {
        RouterStats s = new RouterStats("a\"b", 2, new long[] {2, 0}, new long[] {0, 0}, 0, 0, null);
        String json = s.toJson();
        assertTrue(json.startsWith("{\"layer\":\"a\\\"b\""), json);
        assertTrue(json.contains("\"routed\":[2,0]"), json);
        assertTrue(json.contains("\"maxOverMean\":2.00000"), json);
        assertTrue(json.contains("\"meanEntropy\":null"), json); // no entropy measured: null, not NaN
    }

    @Test
    void constructorCopiesItsArrays() {
        long[] routed = {1, 2};
        RouterStats s = stats(routed, new long[2]);
        routed[0] = 99;
        assertEquals(1, s.routed()[0]);
    }
}
