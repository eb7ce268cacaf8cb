package org.moe4j.kernel;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.moe4j.common.Moe4jException;

/**
 * The worker threads behind {@link Parallel}: they run one job at a time together with the thread that posted it.
 *
 * <p>Why not an executor. A decoding step makes some seventy parallel calls of 50-300 µs each. Handing each to
 * parked threads through a queue and waiting on futures cost 30-40 µs a call here (a parked thread, and a halted
 * virtual CPU, take that long to wake), a third of a small quantized product. So the workers spin for {@link
 * #SPIN_NANOS} after each job before they park, and the caller waits by spinning too. The caller runs chunk 0 and
 * the others are claimed from a shared counter: whoever is free takes the next one, caller included, so a worker
 * that wakes late costs only the share it did not take, never a wait.
 *
 * <p>Chunk boundaries depend only on the range and the chunk count, and each chunk runs exactly once, so which
 * thread runs a chunk changes no result.
 */
final class WorkerCrew {
    /**
     * How long a worker (or the waiting caller) spins before it parks: longer than the serial gaps of a decoding
     * step (norms, routing, sampling: tens of µs), short enough that an idle process stops burning CPU at once.
     */
    static final long SPIN_NANOS = 1_000_000;

    private final Worker[] workers;
    /** Set while a job runs: a second caller (another thread, or a chunk calling back in) runs its job inline. */
    private final AtomicBoolean busy = new AtomicBoolean();
    /** The job being run, or null; workers run each job they have not seen yet. */
    private volatile Job job;
    /** Numbers the jobs, so a worker remembers the last one it ran without holding on to it. */
    private long jobs;
    private volatile boolean stopped;

    WorkerCrew(int workerCount, ThreadLocal<Boolean> inPool) {
        workers = new Worker[workerCount];
        for (int i = 0; i < workerCount; i++) {
            workers[i] = new Worker("moe4j-kernel-" + (i + 1), inPool);
            workers[i].start();
        }
    }

    /**
     * Runs {@code chunks} chunks of [0, n) on the crew and the calling thread; false (nothing run) when the crew is
     * busy with another job, so the caller runs its chunks itself.
     */
    boolean tryRun(int n, int chunks, Parallel.ChunkBody body) {
        if (!busy.compareAndSet(false, true)) return false;
        Job j = new Job(++jobs, n, chunks, body, Thread.currentThread());
        try {
            job = j;
            for (Worker w : workers) {
                if (w.parked) LockSupport.unpark(w);
            }
            j.run(0); // the caller's own chunk: a thread keeps the same part of the data from call to call
            j.work();
            j.await();
        } finally {
            job = null; // let the body and its arrays go
            busy.set(false);
        }
        Throwable failure = j.failure.get();
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error err) throw err;
        if (failure != null) throw new Moe4jException("parallel kernel failed: " + failure, failure);
        return true;
    }

    /** Stops the workers once they finish what they are running. */
    void stop() {
        stopped = true;
        for (Worker w : workers) LockSupport.unpark(w);
    }

    /** Where chunk c of [0, n) cut into {@code chunks} near-equal contiguous chunks starts. */
    static int start(int n, int chunks, int c) {
        return (int) ((long) n * c / chunks);
    }

    /** One call's chunks, the counter they are claimed from, and how many are still running. */
    private static final class Job {
        final long id;
        final int n, chunks;
        final Parallel.ChunkBody body;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger(1); // chunk 0 is the caller's
        final AtomicInteger unfinished;
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        volatile boolean callerParked;

        Job(long id, int n, int chunks, Parallel.ChunkBody body, Thread caller) {
            this.id = id;
            this.n = n;
            this.chunks = chunks;
            this.body = body;
            this.caller = caller;
            this.unfinished = new AtomicInteger(chunks);
        }

        /** Claims and runs chunks until none is left. */
        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) run(c);
        }

        /** Runs chunk c; a failure is kept (the first) and the other chunks still run. */
        void run(int c) {
            try {
                body.run(c, start(n, chunks, c), start(n, chunks, c + 1));
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                if (unfinished.decrementAndGet() == 0 && callerParked) LockSupport.unpark(caller);
            }
        }

        /** The caller waits for the chunks other threads claimed: spinning first, then parked. */
        void await() {
            long since = System.nanoTime();
            while (unfinished.get() > 0) {
                if (System.nanoTime() - since < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    callerParked = true; // written before unfinished is read again, so no wake-up is lost
                    if (unfinished.get() > 0) LockSupport.park(this);
                    callerParked = false;
                }
            }
        }
    }

    private final class Worker extends Thread {
        volatile boolean parked;
        private final ThreadLocal<Boolean> inPool;

        Worker(String name, ThreadLocal<Boolean> inPool) {
            super(name);
            this.inPool = inPool;
            setDaemon(true);
        }

        @Override
        public void run() {
            inPool.set(true);
            long seen = 0;
            long idleSince = System.nanoTime();
            while (!stopped) {
                Job j = job;
                if (j != null && j.id != seen) {
                    seen = j.id;
                    j.work();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    parked = true; // written before job is read again, so a poster sees it or we see the job
                    Job now = job;
                    if ((now == null || now.id == seen) && !stopped) LockSupport.park(this);
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }
}
