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
 * Square float GEMM, {@code C = A B} (and with B transposed, the layout of a PyTorch linear layer), at each size
 * and thread count. GFLOP/s = 2 size^3 / time. Run: {@code java -jar moe4j-bench/target/benchmarks.jar Gemm}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
public class GemmBenchmark {
    @Param({"256", "1024"})
    public int size;

    @Param({"1", "2"})
    public int threads;

    private float[] a; // [size, size]
    private float[] b; // [size, size]
    private float[] c; // [size, size]

    @Setup
    public void setup() {
        Parallel.setThreads(threads);
        Rng rng = new Rng(1);
        a = new float[size * size];
        b = new float[size * size];
        c = new float[size * size];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rng.normal();
            b[i] = (float) rng.normal();
        }
    }

    @Benchmark
    public float[] sgemm() {
        Gemm.sgemm(false, false, size, size, size, 1f, a, 0, size, b, 0, size, 0f, c, 0, size);
        return c;
    }

    @Benchmark
    public float[] sgemmTransposedB() {
        Gemm.sgemm(false, true, size, size, size, 1f, a, 0, size, b, 0, size, 0f, c, 0, size);
        return c;
    }
}
