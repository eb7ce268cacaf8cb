package org.moe4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.kernel.Backend;
import org.moe4j.kernel.Gemm;
import org.moe4j.kernel.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code moe4j bench matmul}: float32 GEMM throughput, {@code C[m,n] = A[m,k] * B[k,n]}. */
@Command(name = "matmul", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Time Gemm.sgemm (row-major, no transposes, alpha 1, beta 0) on random matrices.",
                "Prints GFLOP/s (2*m*n*k per call) and milliseconds per call."},
        showDefaultValues = true)
final class BenchMatmulCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--m", required = true, paramLabel = "M", description = "Rows of A and C.")
    int m;

    @Option(names = "--n", required = true, paramLabel = "N", description = "Columns of B and C.")
    int n;

    @Option(names = "--k", required = true, paramLabel = "K", description = "Columns of A, rows of B.")
    int k;

    @Option(names = "--threads", paramLabel = "T",
            description = "Kernel threads (default: all cores, or -Dmoe4j.threads).")
    Integer threads;

    @Option(names = "--warmup", paramLabel = "S", defaultValue = "1", description = "Seconds of warm-up before timing.")
    double warmupSeconds;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "3", description = "Seconds to time for (at least one call).")
    double seconds;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the random matrices.")
    long seed;

    @Option(names = "--json", description = "Print one JSON line: op, m, n, k, threads, ms, gflops (and backend, calls).")
    boolean json;

    @Override
    public Integer call() {
        validate();
        if (threads != null) Parallel.setThreads(threads);
        // Bytes are checked against the heap so that a too-large size is a clear error, not an OutOfMemoryError.
        long floats = (long) m * k + (long) k * n + (long) m * n;
        long maxHeap = Runtime.getRuntime().maxMemory();
        if (floats * Float.BYTES > maxHeap * 0.9) {
            throw new Moe4jException(String.format(Locale.ROOT, "matmul %dx%dx%d needs %d MiB for A, B and C but the "
                    + "heap is at most %d MiB; use smaller sizes or more heap (MOE4J_JAVA_OPTS=-Xmx...)",
                    m, n, k, (floats * Float.BYTES) >> 20, maxHeap >> 20));
        }
        Rng rng = new Rng(seed);
        float[] a = random(rng.split(), m * k);
        float[] b = random(rng.split(), k * n);
        float[] c = new float[m * n];

        long warmupEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
        while (System.nanoTime() < warmupEnd) multiply(a, b, c);

        long budget = (long) (seconds * 1e9);
        long calls = 0;
        long start = System.nanoTime();
        long elapsed;
        do {
            multiply(a, b, c);
            calls++;
            elapsed = System.nanoTime() - start;
        } while (elapsed < budget);
        if (Float.isNaN(c[c.length / 2])) throw new Moe4jException("matmul produced NaN from finite inputs");

        double msPerCall = elapsed / 1e6 / calls;
        double gflops = 2.0 * m * n * k * calls / Math.max(1, elapsed);
        print(msPerCall, gflops, calls, elapsed);
        return 0;
    }

    private void multiply(float[] a, float[] b, float[] c) {
        Gemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
    }

    private void print(double msPerCall, double gflops, long calls, long elapsedNanos) {
        PrintWriter out = spec.commandLine().getOut();
        String backend = Backend.current().name().toLowerCase(Locale.ROOT);
        if (json) {
            ObjectNode line = Json.object();
            line.put("op", "matmul");
            line.put("m", m);
            line.put("n", n);
            line.put("k", k);
            line.put("threads", Parallel.threads());
            line.put("ms", msPerCall);
            line.put("gflops", gflops);
            line.put("backend", backend);
            line.put("calls", calls);
            out.println(Json.line(line));
        } else {
            out.printf(Locale.ROOT, "matmul m=%d n=%d k=%d, %d threads, %s backend: %.2f GFLOP/s, %.3f ms per call "
                    + "(%d calls in %.2f s)%n", m, n, k, Parallel.threads(), backend, gflops, msPerCall, calls,
                    elapsedNanos / 1e9);
        }
        out.flush();
    }

    /** Bad flags are usage errors (exit 2) that name the flag. */
    private void validate() {
        positive("--m", m);
        positive("--n", n);
        positive("--k", k);
        if (threads != null) positive("--threads", threads);
        if (!(warmupSeconds >= 0) || Double.isInfinite(warmupSeconds)) {
            throw usage("--warmup must be a finite number of seconds >= 0, got " + warmupSeconds);
        }
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw usage("--seconds must be a finite number of seconds > 0, got " + seconds);
        }
        fitsInArray("--m", m, "--k", k);
        fitsInArray("--k", k, "--n", n);
        fitsInArray("--m", m, "--n", n);
    }

    private void positive(String flag, int value) {
        if (value < 1) throw usage(flag + " must be at least 1, got " + value);
    }

    private void fitsInArray(String flagA, int a, String flagB, int b) {
        try {
            Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw usage(flagA + " " + a + " times " + flagB + " " + b + " = " + (long) a * b
                    + " floats, more than a Java array holds (" + Integer.MAX_VALUE + ")");
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    private static float[] random(Rng rng, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = 2 * rng.nextFloat() - 1;
        return x;
    }
}
