package org.moe4j.serve;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.moe4j.moe.RouterStats;

/**
 * The server's counters, in Prometheus text format ({@link #render}). Every accepted request ends in exactly one
 * of {@link Outcome#COMPLETED}, {@link Outcome#ERROR}, {@link Outcome#TIMEOUT} or {@link Outcome#CANCELLED}, so
 * accepted = those four + queued + running at any quiet moment; rejected (429), invalid (4xx) and unavailable
 * (503 while loading) requests were never accepted.
 */
public final class Metrics {
    /** How a request ended. */
    public enum Outcome {
        COMPLETED, ERROR, TIMEOUT, CANCELLED, REJECTED, INVALID, UNAVAILABLE;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final EnumMap<Outcome, LongAdder> outcomes = new EnumMap<>(Outcome.class);
    private final LongAdder accepted = new LongAdder();
    private final LongAdder promptTokens = new LongAdder();
    private final LongAdder generatedTokens = new LongAdder();
    private final LongAdder steps = new LongAdder();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private volatile boolean ready;
    final Histogram latency = new Histogram("moe4j_request_duration_seconds",
            "Time from acceptance to the end of a request, whatever its outcome.", Histogram.LATENCY_BUCKETS);
    final Histogram queueWait = new Histogram("moe4j_queue_wait_seconds",
            "Time a request waited in the queue before joining the running batch.", Histogram.LATENCY_BUCKETS);
    final Histogram firstToken = new Histogram("moe4j_time_to_first_token_seconds",
            "Time from acceptance to a request's first generated token.", Histogram.LATENCY_BUCKETS);
    final Histogram step = new Histogram("moe4j_batch_step_duration_seconds",
            "Time of one batched model step (Generator.step).", Histogram.LATENCY_BUCKETS);
    private final Map<String, long[]> expertLoad = new LinkedHashMap<>(); // layer -> [experts], guarded by itself

    Metrics() {
        for (Outcome o : Outcome.values()) outcomes.put(o, new LongAdder());
    }

    void count(Outcome o) {
        outcomes.get(o).increment();
    }

    void accepted() {
        accepted.increment();
    }

    void tokens(int prompt, int generated) {
        promptTokens.add(prompt);
        generatedTokens.add(generated);
    }

    void queueDepth(int n) {
        queued.set(n);
    }

    void runningBatch(int n) {
        running.set(n);
    }

    void ready(boolean r) {
        ready = r;
    }

    /** One model step of {@code nanos} over the layers' router telemetry. */
    void step(long nanos, List<RouterStats> stats) {
        steps.increment();
        step.observeNanos(nanos);
        synchronized (expertLoad) {
            for (RouterStats s : stats) {
                long[] load = expertLoad.computeIfAbsent(s.layer(), k -> new long[s.experts()]);
                long[] routed = s.routed();
                for (int e = 0; e < Math.min(load.length, routed.length); e++) load[e] += routed[e];
            }
        }
    }

    public long outcome(Outcome o) {
        return outcomes.get(o).sum();
    }

    public long acceptedTotal() {
        return accepted.sum();
    }

    public int queueDepth() {
        return queued.get();
    }

    public int runningBatch() {
        return running.get();
    }

    public long generatedTokens() {
        return generatedTokens.sum();
    }

    public long promptTokens() {
        return promptTokens.sum();
    }

    /** Each MoE layer's assignments per expert since start. */
    public Map<String, long[]> expertLoad() {
        synchronized (expertLoad) {
            Map<String, long[]> copy = new LinkedHashMap<>();
            expertLoad.forEach((k, v) -> copy.put(k, v.clone()));
            return copy;
        }
    }

    /** The Prometheus text exposition of everything. */
    public String render() {
        StringBuilder out = new StringBuilder(4096);
        header(out, "moe4j_requests_total", "counter", "Requests by how they ended (accepted ones: completed, error,"
                + " timeout, cancelled; never accepted: rejected (429), invalid (4xx), unavailable (503)).");
        for (Outcome o : Outcome.values()) {
            out.append("moe4j_requests_total{outcome=\"").append(o.label()).append("\"} ").append(outcome(o)).append('\n');
        }
        simple(out, "moe4j_requests_accepted_total", "counter", "Requests accepted into the queue.", acceptedTotal());
        simple(out, "moe4j_prompt_tokens_total", "counter", "Prompt tokens of ended requests.", promptTokens());
        simple(out, "moe4j_generated_tokens_total", "counter", "Tokens generated for ended requests.", generatedTokens());
        simple(out, "moe4j_batch_steps_total", "counter", "Batched model steps.", steps.sum());
        simple(out, "moe4j_queue_depth", "gauge", "Requests waiting to join the running batch.", queueDepth());
        simple(out, "moe4j_running_batch_size", "gauge", "Sequences in the running batch.", runningBatch());
        simple(out, "moe4j_model_ready", "gauge", "1 once the model has loaded.", ready ? 1 : 0);
        latency.write(out);
        queueWait.write(out);
        firstToken.write(out);
        step.write(out);
        header(out, "moe4j_expert_assignments_total", "counter",
                "Token-to-expert assignments per MoE layer and expert, from the router telemetry of each step.");
        Map<String, long[]> load = expertLoad();
        load.forEach((layer, counts) -> {
            for (int e = 0; e < counts.length; e++) {
                out.append("moe4j_expert_assignments_total{layer=\"").append(escape(layer)).append("\",expert=\"")
                        .append(e).append("\"} ").append(counts[e]).append('\n');
            }
        });
        header(out, "moe4j_expert_load_max_over_mean", "gauge",
                "The busiest expert's assignments over the mean, per MoE layer (1 = balanced).");
        load.forEach((layer, counts) -> {
            long total = 0, max = 0;
            for (long c : counts) {
                total += c;
                max = Math.max(max, c);
            }
            double v = total == 0 ? 0 : max / ((double) total / counts.length);
            out.append("moe4j_expert_load_max_over_mean{layer=\"").append(escape(layer)).append("\"} ")
                    .append(number(v)).append('\n');
        });
        return out.toString();
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void simple(StringBuilder out, String name, String type, String help, long value) {
        header(out, name, type, help);
        out.append(name).append(' ').append(value).append('\n');
    }

    static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    private static String escape(String label) {
        return label.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
