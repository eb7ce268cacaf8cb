package org.moe4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.moe4j.infer.LoadedModel;
import org.moe4j.infer.ModelLoader;
import org.moe4j.serve.ServeBench;
import org.moe4j.serve.TinyModels;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code moe4j bench serve}: a bounded load run against a local server on loopback; exit 1 if a criterion fails. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Load a local server (loopback only): N clients within capacity (tokens/s, p50/p99 latency,"
                + " errors), then 10x capacity at once, in timed bursts after untimed ones (429s within 100 ms, idle again"
                + " within 5 s)."})
final class BenchServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    static final class Source {
        @Option(names = "--model", required = true, description = "A checkpoint or run directory.")
        Path model;

        @Option(names = "--preset", required = true, description = "A random model: tiny.")
        String preset;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--clients", defaultValue = "8", description = "Concurrent clients (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--requests", defaultValue = "64", description = "Requests in phase one (default ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--max-tokens", defaultValue = "16", description = "Tokens per request (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--max-batch", defaultValue = "8", description = "Server batch (default ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-queue", defaultValue = "8", description = "Server queue (default ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--json", description = "One JSON line instead of text.")
    boolean json;

    @Override
    public Integer call() {
        Supplier<LoadedModel> model;
        if (source.model != null) {
            model = () -> ModelLoader.load(source.model);
        } else if (source.preset.equals("tiny")) {
            model = () -> TinyModels.tiny(256, 1);
        } else {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--preset: only 'tiny' is known, got '"
                    + source.preset + "'");
        }
        ServeBench.Report r = ServeBench.run(model, new ServeBench.Options(clients, requests, maxTokens, maxBatch, maxQueue));
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = Json.MAPPER.valueToTree(r);
            o.put("passed", r.passed()).put("loadAverage", load).put("cpus", Runtime.getRuntime().availableProcessors());
            out.println(o);
        } else {
            out.printf(Locale.ROOT, "phase 1: %d clients, %d requests of %d tokens: %.1f tokens/s, latency p50 %.1f ms,"
                            + " p99 %.1f ms, errors %d%n", r.clients(), r.requests(), maxTokens, r.tokensPerSecond(),
                    r.p50Ms(), r.p99Ms(), r.errors());
            int n = r.overloadSent() / ServeBench.TIMED_BURSTS;
            out.printf(Locale.ROOT, "phase 2: %d bursts of %d at once (10x capacity %d) after %d untimed: %d rejected (median %.1f ms,"
                            + " slowest %.1f ms), %d completed, %d other; idle %.0f ms after sending; healthy %s; %d GC pauses (%d ms)"
                            + " in them; the first untimed burst's slowest refusal %.1f ms%n", ServeBench.TIMED_BURSTS, n,
                    maxBatch + maxQueue, ServeBench.WARM_BURSTS, r.overloadRejected(), r.p50RejectMs(), r.maxRejectMs(),
                    r.overloadCompleted(), r.overloadOther(), r.idleAfterMs(), r.healthyAfter(), r.gcPauses(), r.gcMs(),
                    r.coldMaxRejectMs());
            out.printf(Locale.ROOT, "%s (load average %.2f on %d cpus)%n", r.passed() ? "PASSED" : "FAILED", load,
                    Runtime.getRuntime().availableProcessors());
        }
        out.flush();
        return r.passed() ? 0 : 1;
    }
}
