package org.moe4j.kernel;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.moe4j.common.Moe4jException;

/**
 * The one thread pool every kernel shares, sized to the machine unless {@code -Dmoe4j.threads=N} or
 * {@link #setThreads} says otherwise.
 *
 * <p>Work is split into contiguous chunks whose boundaries depend only on the range, the grain and the thread
 * count, and each chunk writes its own part of the output; so the same inputs and thread count give
 * bit-identical results. Calls made from inside a pool thread run inline, so nested parallel kernels cannot
 * deadlock.
 */
public final class Parallel {
    /** A body over a half-open range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /** A body over one chunk of a fixed partition: chunk {@code chunk} of {@code chunks} covers [from, to). */
    @FunctionalInterface
    public interface ChunkBody {
        void run(int chunk, int from, int to);
    }

    private static final ThreadLocal<Boolean> IN_POOL = ThreadLocal.withInitial(() -> false);
    private static volatile int threads = initialThreads();
    private static ExecutorService pool;

    private Parallel() {}

    private static int initialThreads() {
        String prop = System.getProperty("moe4j.threads");
        if (prop == null) return Runtime.getRuntime().availableProcessors();
        try {
            int t = Integer.parseInt(prop.trim());
            if (t >= 1) return t;
        } catch (NumberFormatException ignored) {
            // fall through to the error below
        }
        throw new Moe4jException("-Dmoe4j.threads=" + prop + " is not a positive thread count");
    }

    public static int threads() {
        return threads;
    }

    /** Sets the thread count for all later kernels (for example from {@code --threads}). */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new Moe4jException("thread count must be at least 1, got " + n);
        if (n != threads) {
            threads = n;
            if (pool != null) {
                pool.shutdown();
                pool = null;
            }
        }
    }

    private static synchronized ExecutorService pool() {
        if (pool == null) {
            AtomicInteger id = new AtomicInteger();
            ThreadFactory factory = r -> {
                Thread t = new Thread(() -> {
                    IN_POOL.set(true);
                    r.run();
                }, "moe4j-kernel-" + id.incrementAndGet());
                t.setDaemon(true);
                return t;
            };
            pool = Executors.newFixedThreadPool(Math.max(1, threads - 1), factory);
        }
        return pool;
    }

    /**
     * How many chunks {@code n} items are split into: at most the thread count, and no chunk smaller than
     * {@code grain} items (so small work runs on the calling thread alone).
     */
    public static int chunks(int n, int grain) {
        if (n <= 0) return 0;
        int byGrain = Math.max(1, n / Math.max(1, grain));
        return Math.min(threads, byGrain);
    }

    /** Runs {@code body} over [0, n) split into {@link #chunks} contiguous ranges, in parallel. */
    public static void forRange(int n, int grain, RangeBody body) {
        forChunks(n, chunks(n, grain), (c, from, to) -> body.run(from, to));
    }

    /** Runs {@code body} once for each of {@code chunks} near-equal contiguous ranges of [0, n). */
    public static void forChunks(int n, int chunks, ChunkBody body) {
        if (n <= 0 || chunks <= 0) return;
        if (chunks == 1 || IN_POOL.get()) {
            for (int c = 0; c < chunks; c++) body.run(c, start(n, chunks, c), start(n, chunks, c + 1));
            return;
        }
        ExecutorService p = pool();
        Future<?>[] futures = new Future<?>[chunks - 1];
        for (int c = 1; c < chunks; c++) {
            final int chunk = c;
            futures[c - 1] = p.submit(() -> body.run(chunk, start(n, chunks, chunk), start(n, chunks, chunk + 1)));
        }
        Throwable failure = null;
        try {
            body.run(0, 0, start(n, chunks, 1));
        } catch (Throwable t) {
            failure = t;
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (failure == null) failure = e.getCause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) failure = e;
            }
        }
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error err) throw err;
        if (failure != null) throw new Moe4jException("parallel kernel failed: " + failure, failure);
    }

    private static int start(int n, int chunks, int c) {
        return (int) ((long) n * c / chunks);
    }
}
