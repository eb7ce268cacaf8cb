package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;

class ParallelTest {
    @Test
    void chunksCoverTheRangeExactlyOnce() {
        int saved = Parallel.threads();
        try {
            Parallel.setThreads(3);
            int[] hits = new int[1000];
            Parallel.forRange(hits.length, 10, (from, to) -> {
                for (int i = from; i < to; i++) hits[i]++;
            });
            for (int h : hits) assertEquals(1, h);
            assertEquals(3, Parallel.chunks(1000, 10));
            assertEquals(1, Parallel.chunks(5, 10));
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void nestedCallsRunInlineAndFailuresPropagate() {
        AtomicInteger total = new AtomicInteger();
        Parallel.forRange(4, 1, (a, b) -> {
            for (int i = a; i < b; i++) Parallel.forRange(100, 1, (c, d) -> total.addAndGet(d - c));
        });
        assertEquals(400, total.get());
        assertThrows(IllegalStateException.class, () -> Parallel.forRange(100, 1, (a, b) -> {
            throw new IllegalStateException("boom");
        }));
        assertThrows(Moe4jException.class, () -> Parallel.setThreads(0));
    }
}
