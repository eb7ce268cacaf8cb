package org.moe4j.bench;

import java.util.concurrent.TimeUnit;
import org.moe4j.common.Rng;
import org.moe4j.kernel.NormKernels;
import org.moe4j.kernel.Parallel;
import org.moe4j.kernel.SoftmaxKernels;
import org.moe4j.tensor.Tensor;
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
 * Row-wise kernels (softmax over the last axis, RMSNorm) against two peers measured in the same run: a plain
 * copy of the tensor (the memory-bandwidth floor: these kernels read a row and write a row) and the scalar
 * reference kernels ({@code backend=scalar}, a separate fork, since the backend is chosen once per JVM).
 * Run: {@code java -jar moe4j-bench/target/benchmarks.jar RowOps}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
public class RowOpsBenchmark {
    /** rows x columns: activations of a 4096-wide model, and LM logits over a 32000-token vocabulary. */
    @Param({"512x4096", "64x32000"})
    public String shape;

    @Param({"vector", "scalar"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    private Tensor x; // [rows, cols]
    private Tensor weight; // [cols]

    @Setup
    public void setup() {
        System.setProperty("moe4j.backend", backend); // before any kernel class initialises the backend
        Parallel.setThreads(threads);
        String[] rc = shape.split("x");
        int rows = Integer.parseInt(rc[0]), cols = Integer.parseInt(rc[1]);
        Rng rng = new Rng(1);
        float[] data = new float[rows * cols];
        for (int i = 0; i < data.length; i++) data[i] = (float) rng.normal();
        x = Tensor.of(data, rows, cols);
        float[] w = new float[cols];
        for (int i = 0; i < cols; i++) w[i] = (float) (1 + 0.1 * rng.normal());
        weight = Tensor.of(w, cols);
    }

    @Benchmark
    public Tensor copy() {
        return x.copy();
    }

    @Benchmark
    public Tensor softmax() {
        return SoftmaxKernels.softmax(x, -1);
    }

    @Benchmark
    public Tensor rmsNorm() {
        return NormKernels.rmsNorm(x, weight, 1e-6).output();
    }
}
