package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
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

    /**
     * Many short jobs back to back, with pauses longer than the workers' spin between some of them, so that jobs
     * find the workers both spinning and parked: every chunk must run exactly once and no wake-up may be lost (a
     * lost one hangs, which the timeout turns into a failure).
     */
    @Test
    void manyJobsFindWorkersSpinningOrParked() {
        int saved = Parallel.threads();
        try {
            Parallel.setThreads(3);
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                for (int job = 0; job < 20_000; job++) {
                    int chunks = 1 + job % 5; // also more chunks than threads
                    int[] hits = new int[chunks * 7];
                    Parallel.forChunks(hits.length, chunks, (c, from, to) -> {
                        for (int i = from; i < to; i++) hits[i] += c + 1;
                    });
                    for (int i = 0; i < hits.length; i++) assertEquals(i / 7 + 1, hits[i], "job " + job + " item " + i);
                    if (job % 2_000 == 0) Thread.sleep(3 * WorkerCrew.SPIN_NANOS / 1_000_000);
                }
            });
        } finally {
            Parallel.setThreads(saved);
        }
    }

    /** Jobs posted from several threads at once: one runs on the crew, the others inline, each chunk once. */
    @Test
    void concurrentCallersEachGetTheirChunksOnce() throws InterruptedException {
        int saved = Parallel.threads();
        try {
            Parallel.setThreads(2);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> callers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread caller = new Thread(() -> {
                    try {
                        for (int job = 0; job < 2_000; job++) {
                            int[] hits = new int[64];
                            Parallel.forChunks(hits.length, 4, (c, from, to) -> {
                                for (int i = from; i < to; i++) hits[i]++;
                            });
                            for (int h : hits) assertEquals(1, h);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                callers.add(caller);
                caller.start();
            }
            for (Thread caller : callers) caller.join(60_000);
            for (Thread caller : callers) assertEquals(false, caller.isAlive(), "a caller hung");
            if (failure.get() != null) throw new AssertionError(failure.get());
        } finally {
            Parallel.setThreads(saved);
        }
    }

    /** A failure in a chunk another thread ran reaches the caller, and the crew still works afterwards. */
    @Test
    void aWorkersFailureReachesTheCaller() {
        int saved = Parallel.threads();
        try {
            Parallel.setThreads(2);
            Thread caller = Thread.currentThread();
            for (int i = 0; i < 200; i++) {
                // every chunk that does not run on the caller fails; with 8 chunks a worker usually claims some
                AtomicInteger elsewhere = new AtomicInteger();
                try {
                    Parallel.forChunks(8, 8, (c, from, to) -> {
                        if (Thread.currentThread() != caller) {
                            elsewhere.incrementAndGet();
                            throw new IllegalArgumentException("chunk " + c);
                        }
                    });
                    assertEquals(0, elsewhere.get(), "a worker's failure was lost");
                } catch (IllegalArgumentException expected) {
                    assertEquals(true, elsewhere.get() > 0);
                }
            }
            int[] hits = new int[10];
            Parallel.forRange(hits.length, 1, (a, b) -> {
                for (int i = a; i < b; i++) hits[i]++;
            });
            for (int h : hits) assertEquals(1, h);
        } finally {
            Parallel.setThreads(saved);
        }
    }
}
