package org.moe4j.bench;

import java.util.concurrent.TimeUnit;
import org.moe4j.common.Rng;
import org.moe4j.kernel.Gemm;
import org.moe4j.kernel.Parallel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A few rows through a layer, the decode case: {@code C[m, n] = A[m, k] B} with n = k = {@code size}, B plain
 * ({@code [k, n]}) or transposed (PyTorch's {@code [out, in]} weight layout, which is how the MoE experts and dense
 * layers call it). Run: {@code java -jar moe4j-bench/target/benchmarks.jar GemmSmall}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
public class GemmSmallBenchmark {
    @Param({"1", "4", "16", "64"})
    public int m;

    @Param({"1024"})
    public int size;

    @Param({"1", "2"})
    public int threads;

    private float[] a; // [m, size]
    private float[] b; // [size, size]
    private float[] c; // [m, size]

    @Setup
    public void setup() {
        Parallel.setThreads(threads);
        Rng rng = new Rng(1);
        a = new float[m * size];
        b = new float[size * size];
        c = new float[m * size];
        for (int i = 0; i < a.length; i++) a[i] = (float) rng.normal();
        for (int i = 0; i < b.length; i++) b[i] = (float) rng.normal();
    }

    @Benchmark
    public float[] plainB() {
        Gemm.sgemm(false, false, m, size, size, 1f, a, 0, size, b, 0, size, 0f, c, 0, size);
        return c;
    }

    @Benchmark
    public float[] transposedB() {
        Gemm.sgemm(false, true, m, size, size, 1f, a, 0, size, b, 0, size, 0f, c, 0, size);
        return c;
    }
}
