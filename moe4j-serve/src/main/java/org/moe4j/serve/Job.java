package org.moe4j.serve;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.moe4j.infer.FinishReason;
import org.moe4j.infer.GenerationListener;
import org.moe4j.infer.GenerationResult;
import org.moe4j.infer.GenerationSequence;

/**
 * One accepted request: its sequence (stepped only by the scheduler thread) and the events its HTTP thread reads.
 * It ends exactly once ({@link #end}), whichever of completion, error, timeout or cancellation comes first.
 */
final class Job {
    /** What the HTTP thread hears: text for a stream, then one {@link Done} or {@link Failed}. */
    sealed interface Event permits Delta, Done, Failed {}

    record Delta(String text) implements Event {}

    record Done(GenerationResult result) implements Event {}

    record Failed(ApiException error) implements Event {}

    final ApiRequest request;
    final long acceptedNanos;
    final long deadlineNanos;
    final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final AtomicBoolean ended = new AtomicBoolean();
    private final Metrics metrics;
    private GenerationSequence sequence; // set once, before the job is submitted
    private volatile boolean cancelRequested;
    private volatile Metrics.Outcome outcome;
    // Scheduler thread only:
    boolean timedOut;

    Job(ApiRequest request, long timeoutNanos, Metrics metrics) {
        this.request = request;
        this.metrics = metrics;
        this.acceptedNanos = System.nanoTime();
        this.deadlineNanos = acceptedNanos + timeoutNanos;
    }

    /** The listener its sequence reports to: text deltas go to the stream; the first token is timed. */
    GenerationListener listener() {
        boolean stream = request.stream();
        return new GenerationListener() {
            private boolean first = true;

            @Override
            public void onToken(int id, String delta) {
                if (first) {
                    first = false;
                    metrics.firstToken.observeNanos(System.nanoTime() - acceptedNanos);
                }
                if (stream && !delta.isEmpty()) events.add(new Delta(delta));
            }

            @Override
            public void onFinish(String trailing, FinishReason reason) {
                if (stream && !trailing.isEmpty()) events.add(new Delta(trailing));
            }
        };
    }

    void attach(GenerationSequence s) {
        if (sequence != null) throw new IllegalStateException("job: sequence already attached");
        sequence = s;
    }

    GenerationSequence sequence() {
        return sequence;
    }

    /** Asks the scheduler to cancel (the client went away); it does so before its next step. */
    void requestCancel() {
        cancelRequested = true;
    }

    boolean cancelRequested() {
        return cancelRequested;
    }

    boolean expired(long now) {
        return now - deadlineNanos > 0;
    }

    /** Ends the job with {@code outcome} and tells its HTTP thread {@code last}; false if it had already ended. */
    boolean end(Metrics.Outcome outcome, Event last) {
        if (!ended.compareAndSet(false, true)) return false;
        this.outcome = outcome;
        metrics.count(outcome);
        metrics.tokens(sequence.promptTokens(), sequence.generatedTokens());
        metrics.latency.observeNanos(System.nanoTime() - acceptedNanos);
        events.add(last);
        return true;
    }

    boolean ended() {
        return ended.get();
    }

    /** How it ended, or null while it runs. */
    Metrics.Outcome outcome() {
        return outcome;
    }
}
