package org.moe4j.kernel;

import org.moe4j.common.Moe4jException;

/**
 * The one thread pool every kernel shares, sized to the machine unless {@code -Dmoe4j.threads=N} or
 * {@link #setThreads} says otherwise.
 *
 * <p>Work is split into contiguous chunks whose boundaries depend only on the range, the grain and the thread
 * count, and each chunk writes its own part of the output; so the same inputs and thread count give
 * bit-identical results. The threads are a {@link WorkerCrew}, which the caller joins. Calls made from inside a
 * job, or while another thread's job runs, run inline, so nested parallel kernels cannot deadlock.
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
    private static volatile WorkerCrew crew;

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
            if (crew != null) {
                crew.stop();
                crew = null;
            }
        }
    }

    private static WorkerCrew crew() {
        WorkerCrew c = crew;
        return c != null ? c : newCrew();
    }

    private static synchronized WorkerCrew newCrew() {
        if (crew == null) crew = new WorkerCrew(Math.max(1, threads - 1), IN_POOL);
        return crew;
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
        if (chunks > 1 && threads > 1 && !IN_POOL.get() && crew().tryRun(n, chunks, body)) return;
        for (int c = 0; c < chunks; c++) {
            body.run(c, WorkerCrew.start(n, chunks, c), WorkerCrew.start(n, chunks, c + 1));
        }
    }
}
