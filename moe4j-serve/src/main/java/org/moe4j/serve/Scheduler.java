package org.moe4j.serve;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntSupplier;
import java.util.concurrent.locks.ReentrantLock;
import org.moe4j.infer.FinishReason;
import org.moe4j.infer.GenerationSequence;
import org.moe4j.infer.Generator;
import org.moe4j.moe.RouterStats;

/**
 * Continuous batching: one thread owns the running batch and calls {@link Generator#step} once per iteration over
 * all its sequences; between steps, finished, cancelled and timed-out sequences leave and queued ones join, up to
 * {@code maxBatch}. At most {@code maxBatch + maxQueue} requests are in the system; a request beyond that is
 * refused at once ({@link #tryReserve}). Because a step's output for one sequence does not depend on the others
 * (dropless routing, per-sequence attention), batching never changes what a request gets.
 */
final class Scheduler implements AutoCloseable {
    private final Generator generator;
    private final int maxBatch;
    private final int capacity;
    private final java.time.Duration timeout;
    private final Metrics metrics;
    private final AtomicInteger inSystem = new AtomicInteger();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Job> queue = new ArrayDeque<>(); // guarded by lock
    private final List<Job> running = new ArrayList<>(); // scheduler thread only
    private final IntSupplier undecided;
    private volatile boolean stopping;
    /** Until when (System.nanoTime) the refusals so far keep the loop paused between steps; see {@link #refused}. */
    private final AtomicLong floodUntil = new AtomicLong(System.nanoTime());
    private final Thread thread;

    /**
     * {@code undecided} counts the HTTP exchanges not yet answered or accepted: between steps the loop gives the
     * CPUs to them, and to refusals (see {@link #yieldToAdmissions}).
     */
    Scheduler(Generator generator, int maxBatch, int maxQueue, java.time.Duration timeout, Metrics metrics,
            IntSupplier undecided) {
        this.undecided = undecided;
        this.generator = generator;
        this.maxBatch = maxBatch;
        this.capacity = maxBatch + maxQueue;
        this.timeout = timeout;
        this.metrics = metrics;
        // A platform thread: it runs the model (which fans out over the kernel pool) and must not pin a carrier.
        this.thread = Thread.ofPlatform().name("moe4j-scheduler").daemon(true).unstarted(this::loop);
        thread.start();
    }

    /** Whether a request now would be refused (a hint: {@link #tryReserve} decides). */
    boolean full() {
        return stopping || inSystem.get() >= capacity;
    }

    /** Holds a place for one more request; false when the server is full (answer 429). */
    boolean tryReserve() {
        while (true) {
            int n = inSystem.get();
            if (n >= capacity || stopping) return false;
            if (inSystem.compareAndSet(n, n + 1)) return true;
        }
    }

    /** Notes a 429: each one keeps the loop paused between steps a little longer ({@link #extendFlood}). */
    void refused() {
        floodUntil.accumulateAndGet(System.nanoTime(), Scheduler::extendFlood);
    }

    /**
     * The pause deadline after a refusal at {@code now}: {@link #PAUSE_PER_REFUSAL_NANOS} past the later of the
     * old deadline and now, and never more than {@link #MAX_PAUSE_NANOS} ahead. A flood faster than one refusal
     * per that time keeps the deadline ahead of the clock; a slower one costs the batch that much per refusal.
     */
    static long extendFlood(long until, long now) {
        long from = until - now > 0 ? until : now;
        long next = from + PAUSE_PER_REFUSAL_NANOS;
        return next - (now + MAX_PAUSE_NANOS) > 0 ? now + MAX_PAUSE_NANOS : next;
    }

    /** Gives back a place held by {@link #tryReserve} for a request that was then not submitted. */
    void release() {
        inSystem.decrementAndGet();
    }

    /** Queues a job whose place is reserved; it is accepted from here on and will end exactly once. */
    void submit(Job job) {
        metrics.accepted();
        lock.lock();
        try {
            if (stopping) {
                end(job, Metrics.Outcome.ERROR, new Job.Failed(shuttingDown()));
                return;
            }
            queue.add(job);
            metrics.queueDepth(queue.size());
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Wakes the loop so that a cancellation takes effect before the next step even when idle. */
    void wake() {
        lock.lock();
        try {
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        while (true) {
            try {
                if (!admit()) break;
                if (running.isEmpty()) continue;
                long now = System.nanoTime();
                for (Job j : running) {
                    if (j.cancelRequested()) {
                        j.sequence().cancel();
                    } else if (j.expired(now)) {
                        j.timedOut = true;
                        j.sequence().cancel();
                    }
                }
                List<GenerationSequence> batch = new ArrayList<>(running.size());
                for (Job j : running) batch.add(j.sequence());
                if (batch.stream().anyMatch(s -> !s.finished())) {
                    long t0 = System.nanoTime();
                    List<RouterStats> stats;
                    try {
                        stats = generator.step(batch);
                    } catch (RuntimeException e) {
                        failRunning("generation failed: " + e.getMessage());
                        continue;
                    }
                    long took = System.nanoTime() - t0;
                    metrics.step(took, stats);
                    yieldToAdmissions(took);
                }
                retireFinished();
            } catch (Throwable t) { // never let the loop die with requests waiting on it
                System.err.println("moe4j serve: scheduler fault: " + t);
                failRunning("scheduler fault: " + t);
            }
        }
        // Stopping: everything still here ends now.
        lock.lock();
        try {
            for (Job j : queue) end(j, Metrics.Outcome.ERROR, new Job.Failed(shuttingDown()));
            queue.clear();
        } finally {
            lock.unlock();
        }
        for (Job j : running) {
            j.sequence().cancel();
            end(j, Metrics.Outcome.ERROR, new Job.Failed(shuttingDown()));
        }
        running.clear();
        metrics.queueDepth(0);
        metrics.runningBatch(0);
    }

    /** Waits for work, drops cancelled or expired queued jobs, fills the batch; false once stopping. */
    private boolean admit() throws InterruptedException {
        lock.lock();
        try {
            while (!stopping && queue.isEmpty() && running.isEmpty()) work.await(1, TimeUnit.SECONDS);
            if (stopping) return false;
            long now = System.nanoTime();
            for (Iterator<Job> it = queue.iterator(); it.hasNext(); ) {
                Job j = it.next();
                if (j.cancelRequested()) {
                    it.remove();
                    j.sequence().cancel();
                    end(j, Metrics.Outcome.CANCELLED, new Job.Failed(cancelled()));
                } else if (j.expired(now)) {
                    it.remove();
                    j.sequence().cancel();
                    end(j, Metrics.Outcome.TIMEOUT, new Job.Failed(ApiException.timeout(timeout)));
                }
            }
            while (running.size() < maxBatch && !queue.isEmpty()) {
                Job j = queue.poll();
                metrics.queueWait.observeNanos(now - j.acceptedNanos);
                running.add(j);
            }
            metrics.queueDepth(queue.size());
            metrics.runningBatch(running.size());
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Deciding an admission takes microseconds and a step milliseconds of a core (or of every core, for a model
     * large enough to fan out over the kernel pool), so between steps the loop sleeps while admission work waits,
     * and a refusal goes out at once rather than after the running batch's next steps. Two signals:
     * <ul>
     *   <li>exchanges handed to the HTTP threads and not yet decided: a pause of at most half the last step, so
     *   that a client sending its body slowly cannot slow the batch by more than a third;
     *   <li>refusals: a flood beyond capacity, most of whose requests no count can see yet (they wait in the JDK
     *   server's one dispatcher thread to be read). Each refusal moves a deadline {@link #PAUSE_PER_REFUSAL_NANOS}
     *   on, and before it the loop pauses up to {@link #FLOOD_PAUSE_STEPS} steps: a burst is refused with the
     *   CPUs to itself, a trickle of refusals costs the batch about that time per refusal, a flood that never
     *   stops leaves it at least a ninth of its speed, and requests within capacity (never refused) lose nothing.
     * </ul>
     */
    private void yieldToAdmissions(long lastStepNanos) {
        long start = System.nanoTime();
        for (long now = start; !stopping; now = System.nanoTime()) {
            boolean refusing = floodUntil.get() - now > 0;
            if (!pauseMore(now - start, lastStepNanos, undecided.getAsInt(), refusing)) return;
            LockSupport.parkNanos(PAUSE_SLICE_NANOS);
        }
    }

    /**
     * Whether the loop, {@code pausedNanos} into its pause after a step of {@code lastStepNanos}, pauses on while
     * {@code undecided} exchanges await a decision and refusals are ({@code refusing}) or are not coming.
     */
    static boolean pauseMore(long pausedNanos, long lastStepNanos, int undecided, boolean refusing) {
        long limit = refusing ? FLOOD_PAUSE_STEPS * lastStepNanos : undecided > 0 ? lastStepNanos / 2 : 0;
        return pausedNanos < Math.min(limit, MAX_PAUSE_NANOS);
    }

    /**
     * How much longer each refusal keeps the loop paused: several times what one costs the HTTP threads (0.1 to
     * 0.2 ms of CPU), so that a burst stays ahead of the deadline even on a machine where those threads get only
     * part of a core; a trickle of refusals costs the batch this much each.
     */
    static final long PAUSE_PER_REFUSAL_NANOS = 1_000_000L;
    /** During a flood, the longest pause after a step, in steps. */
    static final long FLOOD_PAUSE_STEPS = 8;
    static final long MAX_PAUSE_NANOS = 50_000_000L;
    private static final long PAUSE_SLICE_NANOS = 200_000L;

    private void retireFinished() {
        for (Iterator<Job> it = running.iterator(); it.hasNext(); ) {
            Job j = it.next();
            GenerationSequence s = j.sequence();
            if (!s.finished()) continue;
            it.remove();
            FinishReason reason = s.finishReason();
            if (reason == FinishReason.CANCELLED) {
                if (j.timedOut) end(j, Metrics.Outcome.TIMEOUT, new Job.Failed(ApiException.timeout(timeout)));
                else end(j, Metrics.Outcome.CANCELLED, new Job.Failed(cancelled()));
            } else if (reason == FinishReason.ERROR) {
                String why = s.error() == null ? "unknown" : s.error().getMessage();
                end(j, Metrics.Outcome.ERROR, new Job.Failed(ApiException.internal("generation failed: " + why)));
            } else {
                end(j, Metrics.Outcome.COMPLETED, new Job.Done(s.result()));
            }
        }
        metrics.runningBatch(running.size());
    }

    private void failRunning(String message) {
        for (Job j : running) {
            j.sequence().cancel();
            end(j, Metrics.Outcome.ERROR, new Job.Failed(ApiException.internal(message)));
        }
        running.clear();
        metrics.runningBatch(0);
    }

    private void end(Job j, Metrics.Outcome outcome, Job.Event last) {
        if (j.end(outcome, last)) inSystem.decrementAndGet();
    }

    private static ApiException cancelled() {
        return new ApiException(499, "cancelled", null, "client_closed_request", "the client went away");
    }

    private static ApiException shuttingDown() {
        return new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
    }

    /** Stops the loop; queued and running requests end with an error. */
    @Override
    public void close() {
        stopping = true;
        wake();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
