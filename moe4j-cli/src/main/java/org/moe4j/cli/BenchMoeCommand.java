package org.moe4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.kernel.Backend;
import org.moe4j.kernel.Gemm;
import org.moe4j.kernel.Parallel;
import org.moe4j.moe.ExpertImpl;
import org.moe4j.moe.Experts;
import org.moe4j.moe.MoeConfig;
import org.moe4j.moe.MoeLayer;
import org.moe4j.moe.MoeOutput;
import org.moe4j.moe.Router;
import org.moe4j.moe.Routers;
import org.moe4j.moe.RoutingContext;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code moe4j bench moe}: one MoE layer with SwiGLU experts, forward or forward+backward, grouped or looped. */
@Command(name = "moe", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Time one MoE layer (SwiGLU experts, dropless) on a random batch: forward, or forward and "
                + "backward with --backward.",
                "Prints milliseconds per iteration, tokens/s and the GFLOP/s of the expert GEMMs (6*dim*hidden per "
                        + "token per chosen expert forward, three times that with --backward)."},
        showDefaultValues = true)
final class BenchMoeCommand implements Callable<Integer> {
    /** Token ids for hash routers: any vocabulary works, this is a typical one. */
    private static final int VOCAB = 32000;

    @Spec
    CommandSpec spec;

    @Option(names = "--dim", defaultValue = "512", description = "Model width.")
    int dim;

    @Option(names = "--hidden", defaultValue = "1024", description = "Hidden width of each expert.")
    int hidden;

    @Option(names = "--experts", defaultValue = "8", description = "Routed experts.")
    int experts;

    @Option(names = "--top-k", defaultValue = "2", paramLabel = "K", description = "Experts per token.")
    int topK;

    @Option(names = "--tokens", defaultValue = "4096", description = "Tokens in the batch.")
    int tokens;

    @Option(names = "--router", defaultValue = "topk", description = "Router name (moe4j info --routers lists them).")
    String router;

    @Option(names = "--backward", description = "Time forward and backward (output.backward(upstream)), as in training.")
    boolean backward;

    @Option(names = "--impl", defaultValue = "grouped", paramLabel = "grouped|naive",
            description = "grouped: one grouped GEMM per projection; naive: a dense FFN per expert over its "
                    + "index-selected tokens, as Hugging Face's Mixtral block.")
    String impl;

    @Option(names = "--threads", paramLabel = "T",
            description = "Kernel threads (default: all cores, or -Dmoe4j.threads).")
    Integer threads;

    @Option(names = "--warmup", paramLabel = "S", defaultValue = "2", description = "Seconds of warm-up before timing.")
    double warmupSeconds;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "5", description = "Seconds to time for (at least one iteration).")
    double seconds;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the weights and inputs.")
    long seed;

    @Option(names = "--dense-peer", description = {"Also time two dense peers right after each iteration and report "
            + "the layer's speed as a ratio to each: a dense SGEMM of one expert's shape ([tokens*k/experts, dim] x "
            + "[dim, hidden], operands reused) doing the FLOPs of the iteration, and a dense FFN of the experts' kind "
            + "with hidden = top-k x hidden on the same tokens (the same FLOPs, the same ops and GEMM, fresh "
            + "activations), forward or forward+backward as the layer."})
    boolean densePeer;

    @Option(names = "--json", description = "Print one JSON line: op, the parameters, ms (mean), bestMs, cpuMs and "
                    + "bestCpuMs (the calling thread's CPU time, mean and least), tokensPerSecond, gflops, assignments; "
                    + "with --dense-peer each peer's GFLOP/s and the ratios to it.")
    boolean json;

    @Override
    public Integer call() {
        ExpertImpl expertImpl = validate();
        if (threads != null) Parallel.setThreads(threads);
        checkHeap();
        Rng rng = new Rng(seed);
        MoeConfig config = MoeConfig.of(dim, hidden, experts, topK);
        Router r = Routers.create(router, config, rng.split());
        MoeLayer layer = new MoeLayer(config, r, rng.split());
        Tensor input = random(rng.split(), tokens, dim);
        Tensor upstream = random(rng.split(), tokens, dim); // d loss / d output, fixed: loss = sum(output * upstream)
        int[] ids = new int[tokens];
        Rng idRng = rng.split();
        for (int t = 0; t < tokens; t++) ids[t] = idRng.nextInt(VOCAB);
        RoutingContext ctx = (backward ? RoutingContext.training("bench", rng.split()) : RoutingContext.inference("bench"))
                .withTokenIds(new IntTensor(ids, new int[] {tokens}));
        Step step = new Step(layer, input, upstream, ctx, expertImpl);

        // SwiGLU: gate, up and down projections, 2 FLOPs per multiply-add; backward does dx and dW, twice forward.
        double flopsPerAssignment = (double) layer.experts().flopsPerRow() * (backward ? 3 : 1);
        DensePeer dense = densePeer ? new DensePeer(rng.split(), flopsPerAssignment * tokens * topK) : null;
        FfnPeer ffn = densePeer ? new FfnPeer(config, rng.split(), input, upstream, backward) : null;

        long warmupEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
        while (System.nanoTime() < warmupEnd) {
            step.run();
            if (dense != null) dense.run();
            if (ffn != null) ffn.run();
        }

        long budget = (long) (seconds * 1e9);
        long iterations = 0, assignments = 0;
        long layerNanos = 0, bestLayer = Long.MAX_VALUE, denseNanos = 0, bestDense = Long.MAX_VALUE;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        boolean cpuClock = mx.isCurrentThreadCpuTimeSupported();
        long layerCpu = 0, bestLayerCpu = Long.MAX_VALUE, bestDenseCpu = Long.MAX_VALUE;
        long start = System.nanoTime();
        do {
            long c0 = cpuClock ? mx.getCurrentThreadCpuTime() : 0;
            long t0 = System.nanoTime();
            assignments = step.run();
            long t = System.nanoTime() - t0;
            if (cpuClock) {
                long c = mx.getCurrentThreadCpuTime() - c0;
                layerCpu += c;
                bestLayerCpu = Math.min(bestLayerCpu, c);
            }
            layerNanos += t;
            bestLayer = Math.min(bestLayer, t);
            // The peers right after the layer, so that all see the same load on a shared machine.
            if (dense != null) {
                c0 = cpuClock ? mx.getCurrentThreadCpuTime() : 0;
                t0 = System.nanoTime();
                dense.run();
                t = System.nanoTime() - t0;
                if (cpuClock) bestDenseCpu = Math.min(bestDenseCpu, mx.getCurrentThreadCpuTime() - c0);
                denseNanos += t;
                bestDense = Math.min(bestDense, t);
            }
            if (ffn != null) ffn.timed(mx, cpuClock);
            iterations++;
        } while (System.nanoTime() - start < budget);

        Result result = new Result();
        result.ms = layerNanos / 1e6 / iterations;
        result.bestMs = bestLayer / 1e6;
        // With one thread this is all the kernel work (not GC); other processes on the machine inflate it far
        // less than the wall clock.
        result.cpuMs = cpuClock ? layerCpu / 1e6 / iterations : Double.NaN;
        result.bestCpuMs = cpuClock ? bestLayerCpu / 1e6 : Double.NaN;
        result.assignments = assignments;
        result.iterations = iterations;
        double flops = flopsPerAssignment * assignments;
        result.flops = flops;
        result.gflops = flops / (result.ms * 1e6);
        result.bestGflops = flops / bestLayer;
        if (dense != null) {
            result.dense = dense;
            result.denseGflops = dense.flops() * iterations / denseNanos;
            result.bestDenseGflops = dense.flops() / bestDense;
            result.bestDenseCpuMs = cpuClock ? bestDenseCpu / 1e6 : Double.NaN;
        }
        result.ffn = ffn;
        print(result);
        return 0;
    }

    /** What one run measured. */
    private static final class Result {
        double ms, bestMs, cpuMs, bestCpuMs, flops, gflops, bestGflops;
        long assignments, iterations;
        DensePeer dense;
        double denseGflops, bestDenseGflops, bestDenseCpuMs;
        FfnPeer ffn;
    }

    /**
     * The dense SGEMM the layer's expert GEMMs are compared with: one expert's forward shape as a plain
     * product ([tokens * k / experts, dim] x [dim, hidden]), called often enough to do the FLOPs of one layer
     * iteration.
     */
    private final class DensePeer {
        final int m = Math.max(1, (int) ((long) tokens * topK / experts)), n = hidden, k = dim;
        final int calls;
        private final float[] a, b, c;

        DensePeer(Rng rng, double layerFlops) {
            calls = (int) Math.max(1, Math.round(layerFlops / (2.0 * m * n * k)));
            a = random(rng, m, k).floats();
            b = random(rng, k, n).floats();
            c = new float[m * n];
        }

        double flops() {
            return 2.0 * m * n * k * calls;
        }

        void run() {
            for (int i = 0; i < calls; i++) Gemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
            if (Float.isNaN(c[c.length / 2])) throw new Moe4jException("dense peer produced NaN from finite inputs");
        }
    }

    /**
     * The fair dense peer: one dense FFN of the experts' kind whose hidden width is top-k x hidden, on the same
     * tokens, so it does the FLOPs of a dropless layer iteration through the same ops, GEMM and transposes (an
     * {@link Experts} bank of one expert over all rows, as shared experts run), with activations as fresh as the
     * layer's. What the layer loses against it is the cost of routing, permutation, scatter and smaller GEMMs.
     */
    private static final class FfnPeer {
        final int hidden;
        private final Experts ffn;
        private final Tensor input, upstream;
        private final boolean backward;
        private final int[] offsets;
        long nanos, best = Long.MAX_VALUE, cpu, bestCpu = Long.MAX_VALUE;
        long iterations;

        FfnPeer(MoeConfig config, Rng rng, Tensor input, Tensor upstream, boolean backward) {
            this.hidden = config.topK() * config.hidden();
            this.ffn = new Experts(config.expertKind(), 1, config.dim(), hidden, config.expertBias(), rng);
            this.input = input;
            this.upstream = upstream;
            this.backward = backward;
            this.offsets = new int[] {0, input.dim(0)};
        }

        double flops() {
            return (double) ffn.flopsPerRow() * input.dim(0) * (backward ? 3 : 1);
        }

        void run() {
            Variable out;
            if (backward) {
                ffn.zeroGrad();
                out = ffn.forward(Variable.parameter(input), offsets);
                out.backward(upstream);
            } else {
                try (GradMode scope = GradMode.off()) {
                    out = ffn.forward(Variable.constant(input), offsets);
                }
            }
            if (Float.isNaN(out.value().get(0, 0))) throw new Moe4jException("dense FFN peer produced NaN from finite inputs");
        }

        void timed(ThreadMXBean mx, boolean cpuClock) {
            long c0 = cpuClock ? mx.getCurrentThreadCpuTime() : 0;
            long t0 = System.nanoTime();
            run();
            long t = System.nanoTime() - t0;
            if (cpuClock) {
                long c = mx.getCurrentThreadCpuTime() - c0;
                cpu += c;
                bestCpu = Math.min(bestCpu, c);
            }
            nanos += t;
            best = Math.min(best, t);
            iterations++;
        }

        double gflops() {
            return flops() * iterations / nanos;
        }

        double bestGflops() {
            return flops() / best;
        }
    }

    /** One timed iteration; returns the assignments the experts computed (after any capacity drops). */
    private static final class Step {
        private final MoeLayer layer;
        private final Tensor input, upstream;
        private final RoutingContext ctx;
        private final ExpertImpl impl;

        Step(MoeLayer layer, Tensor input, Tensor upstream, RoutingContext ctx, ExpertImpl impl) {
            this.layer = layer;
            this.input = input;
            this.upstream = upstream;
            this.ctx = ctx;
            this.impl = impl;
        }

        long run() {
            MoeOutput out;
            if (ctx.training()) {
                layer.zeroGrad();
                // The input takes a gradient too, as the output of an earlier layer would.
                out = layer.forward(Variable.parameter(input), ctx, impl);
                out.output().backward(upstream);
            } else {
                try (GradMode scope = GradMode.off()) {
                    out = layer.forward(Variable.constant(input), ctx, impl);
                }
            }
            if (Float.isNaN(out.output().value().get(0, 0))) throw new Moe4jException("moe produced NaN from finite inputs");
            return out.stats().totalRouted() - out.stats().totalDropped();
        }
    }

    private void print(Result r) {
        PrintWriter out = spec.commandLine().getOut();
        String backend = Backend.current().name().toLowerCase(Locale.ROOT);
        double tokensPerSecond = tokens / (r.ms / 1e3);
        if (json) {
            ObjectNode line = Json.object();
            line.put("op", "moe");
            line.put("dim", dim);
            line.put("hidden", hidden);
            line.put("experts", experts);
            line.put("topK", topK);
            line.put("tokens", tokens);
            line.put("router", router);
            line.put("backward", backward);
            line.put("impl", impl);
            line.put("threads", Parallel.threads());
            line.put("seed", seed);
            line.put("ms", r.ms);
            line.put("bestMs", r.bestMs);
            line.put("cpuMs", r.cpuMs);
            line.put("bestCpuMs", r.bestCpuMs);
            line.put("tokensPerSecond", tokensPerSecond);
            line.put("gflops", r.gflops);
            line.put("bestGflops", r.bestGflops);
            line.put("assignments", r.assignments);
            line.put("backend", backend);
            line.put("iterations", r.iterations);
            if (r.dense != null) {
                ObjectNode dense = line.putObject("dense");
                dense.put("m", r.dense.m);
                dense.put("n", r.dense.n);
                dense.put("k", r.dense.k);
                dense.put("callsPerIteration", r.dense.calls);
                dense.put("gflops", r.denseGflops);
                dense.put("bestGflops", r.bestDenseGflops);
                dense.put("bestCpuMs", r.bestDenseCpuMs);
                line.put("ratioToDense", r.gflops / r.denseGflops);
                line.put("bestRatioToDense", r.bestGflops / r.bestDenseGflops);
                line.put("cpuRatioToDense", cpuRatio(r, r.dense.flops(), r.bestDenseCpuMs));
            }
            if (r.ffn != null) {
                FfnPeer f = r.ffn;
                ObjectNode ffn = line.putObject("denseFfn");
                ffn.put("tokens", tokens);
                ffn.put("dim", dim);
                ffn.put("hidden", f.hidden);
                ffn.put("gflops", f.gflops());
                ffn.put("bestGflops", f.bestGflops());
                ffn.put("cpuMs", f.cpu / 1e6 / f.iterations);
                ffn.put("bestCpuMs", f.bestCpu / 1e6);
                line.put("ratioToDenseFfn", r.gflops / f.gflops());
                line.put("bestRatioToDenseFfn", r.bestGflops / f.bestGflops());
                line.put("cpuRatioToDenseFfn", cpuRatio(r, f.flops(), f.bestCpu / 1e6));
            }
            out.println(Json.line(line));
        } else {
            out.printf(Locale.ROOT, "moe dim=%d hidden=%d experts=%d top-k=%d tokens=%d router=%s impl=%s %s, %d threads, "
                    + "%s backend: %.2f ms per iteration (best %.2f, calling thread's CPU %.2f, least %.2f), %.0f tokens/s, %.2f "
                    + "GFLOP/s (%d assignments, %d iterations)%n", dim, hidden, experts, topK, tokens, router, impl,
                    backward ? "forward+backward" : "forward", Parallel.threads(), backend, r.ms, r.bestMs, r.cpuMs,
                    r.bestCpuMs,
                    tokensPerSecond, r.gflops, r.assignments, r.iterations);
            if (r.dense != null) {
                out.printf(Locale.ROOT, "dense peer sgemm m=%d n=%d k=%d x %d per iteration: %.2f GFLOP/s (best %.2f, least "
                        + "CPU %.2f ms); the layer runs at %.2fx its speed (%.2fx by best iterations, %.2fx by least CPU "
                        + "time)%n", r.dense.m, r.dense.n, r.dense.k, r.dense.calls, r.denseGflops, r.bestDenseGflops,
                        r.bestDenseCpuMs, r.gflops / r.denseGflops, r.bestGflops / r.bestDenseGflops,
                        cpuRatio(r, r.dense.flops(), r.bestDenseCpuMs));
            }
            if (r.ffn != null) {
                FfnPeer f = r.ffn;
                out.printf(Locale.ROOT, "dense peer FFN tokens=%d dim=%d hidden=%d: %.2f GFLOP/s (best %.2f, calling thread's "
                        + "CPU %.2f ms, least %.2f); the layer runs at %.2fx its speed (%.2fx by best iterations, %.2fx "
                        + "by least CPU time)%n", tokens, dim, f.hidden, f.gflops(), f.bestGflops(), f.cpu / 1e6 / f.iterations,
                        f.bestCpu / 1e6, r.gflops / f.gflops(), r.bestGflops / f.bestGflops(),
                        cpuRatio(r, f.flops(), f.bestCpu / 1e6));
            }
        }
        out.flush();
    }

    /**
     * The layer's speed over a peer's by the least CPU time of each per FLOP (NaN without a CPU clock): with one
     * thread, the steadiest ratio on a busy machine.
     */
    private static double cpuRatio(Result r, double peerFlops, double peerBestCpuMs) {
        return (r.flops / r.bestCpuMs) / (peerFlops / peerBestCpuMs);
    }

    /** Bad flags are usage errors (exit 2) that name the flag; returns the chosen implementation. */
    private ExpertImpl validate() {
        positive("--dim", dim);
        positive("--hidden", hidden);
        positive("--experts", experts);
        positive("--tokens", tokens);
        if (topK < 1 || topK > experts) throw usage("--top-k must be in [1, --experts " + experts + "], got " + topK);
        if (threads != null) positive("--threads", threads);
        if (!(warmupSeconds >= 0) || Double.isInfinite(warmupSeconds)) {
            throw usage("--warmup must be a finite number of seconds >= 0, got " + warmupSeconds);
        }
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw usage("--seconds must be a finite number of seconds > 0, got " + seconds);
        }
        try {
            Routers.find(router);
        } catch (Moe4jException e) {
            throw usage("--router: " + e.getMessage());
        }
        // The largest arrays: the input [tokens, dim], activations [tokens * k, hidden] and a weight stack.
        fitsInArray("--tokens x --dim", tokens, dim);
        fitsInArray("--tokens x --top-k x --dim", tokens, topK, dim);
        fitsInArray("--tokens x --top-k x --hidden", tokens, topK, hidden);
        fitsInArray("--experts x --hidden x --dim", experts, hidden, dim);
        return switch (impl) {
            case "grouped" -> ExpertImpl.GROUPED;
            case "naive" -> ExpertImpl.LOOP;
            default -> throw usage("--impl must be grouped or naive, got '" + impl + "'");
        };
    }

    /**
     * A rough lower bound on the floats one iteration holds: weights and their gradients, and about twelve
     * activations of [tokens * top-k, max(dim, hidden)]. Too much is a clear error, not an OutOfMemoryError.
     */
    private void checkHeap() {
        long weights = 3L * experts * hidden * dim * (backward ? 2 : 1);
        long activations = 12L * tokens * topK * Math.max(dim, hidden);
        long bytes = (weights + activations) * Float.BYTES;
        long maxHeap = Runtime.getRuntime().maxMemory();
        if (bytes > maxHeap * 0.9) {
            throw new Moe4jException(String.format(Locale.ROOT, "moe with these sizes needs about %d MiB but the heap is "
                    + "at most %d MiB; use smaller sizes or more heap (MOE4J_JAVA_OPTS=-Xmx...)", bytes >> 20,
                    maxHeap >> 20));
        }
    }

    private void positive(String flag, int value) {
        if (value < 1) throw usage(flag + " must be at least 1, got " + value);
    }

    private void fitsInArray(String product, int... factors) {
        long total = 1;
        for (int f : factors) total *= f; // at most three factors below 2^31: no long overflow
        if (total > Integer.MAX_VALUE) {
            String values = Arrays.stream(factors).mapToObj(Integer::toString).collect(Collectors.joining(" x "));
            throw usage(product + " = " + values + " = " + total + " floats, more than a Java array holds ("
                    + Integer.MAX_VALUE + ")");
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    private static Tensor random(Rng rng, int rows, int cols) {
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.normal();
        return Tensor.of(x, rows, cols);
    }
}
