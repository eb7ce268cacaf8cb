package org.moe4j.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.moe4j.common.Rng;
import org.moe4j.kernel.PackedWeight;
import org.moe4j.kernel.Parallel;
import org.moe4j.kernel.QuantizedMatmul;
import org.moe4j.tensor.Float16s;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.Quantization;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decode-time matmul (m = 1) with a quantized weight against the memory-bandwidth peer measured in the same run: a
 * plain copy of the very same weight bytes. Decode is memory-bound, so the figure that matters is GB/s of weights
 * streamed: {@code weightBytes / time} for {@code matmul}, and for {@code copy} the same bytes read (and as many
 * written). The weight is packed as a loaded model holds it ({@link PackedWeight}); the copy reads the file's bytes
 * from off-heap memory, as a mapped GGUF holds them.
 * Run: {@code java -jar moe4j-bench/target/benchmarks.jar QuantizedMatmul}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
public class QuantizedMatmulBenchmark {
    @Param({"Q8_0", "Q4_0", "Q6_K", "Q5_K", "Q4_K", "Q3_K", "F32"})
    public String format;

    /** n x k: a 4096-wide projection, and one expert's up projection of a Mixtral-shape model (d 1024, FFN 2816). */
    @Param({"4096x4096", "2816x1024"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private PackedWeight weight; // [n, k]
    private MemorySegment fileBytes; // the weight's bytes in the file format, off-heap
    private MemorySegment copyTarget; // as many bytes as the file format
    private Tensor x; // [1, k]

    @Setup(Level.Trial)
    public void setup() {
        Parallel.setThreads(threads);
        String[] nk = shape.split("x");
        int n = Integer.parseInt(nk[0]), k = Integer.parseInt(nk[1]);
        Rng rng = new Rng(1);
        QuantFormat f = QuantFormat.valueOf(format);
        QuantizedTensor heap = f.canQuantize() ? quantized(rng, f, n, k) : randomBlocks(rng, f, n, k);
        arena = Arena.ofShared();
        fileBytes = arena.allocate(heap.data().byteSize(), 64);
        fileBytes.copyFrom(heap.data());
        weight = PackedWeight.of(new QuantizedTensor(heap.format(), n, k, fileBytes));
        copyTarget = arena.allocate(fileBytes.byteSize(), 64);
        float[] xs = new float[k];
        for (int i = 0; i < k; i++) xs[i] = (float) rng.normal();
        x = Tensor.of(xs, 1, k);
        System.out.printf("%n%s %s: %d weight bytes in the file, %d packed%n", format, shape, fileBytes.byteSize(),
                weight.bytes());
    }

    private static QuantizedTensor quantized(Rng rng, QuantFormat f, int n, int k) {
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) w[i] = (float) rng.normal();
        return QuantizedTensor.quantize(Tensor.of(w, n, k), f);
    }

    /** A K-quant moe4j only reads: random bytes, with each super-block's f16 scales (d, dmin) set small and finite. */
    private static QuantizedTensor randomBlocks(Rng rng, QuantFormat f, int n, int k) {
        byte[] b = new byte[Math.toIntExact(f.bytesFor((long) n * k))];
        for (int i = 0; i < b.length; i++) b[i] = (byte) rng.nextInt(256);
        MemorySegment seg = MemorySegment.ofArray(b);
        int[] scales = switch (f) {
            case Q6_K -> new int[] {208};
            case Q3_K -> new int[] {108};
            default -> new int[] {0, 2};
        };
        for (int at = 0; at < b.length; at += f.blockBytes()) {
            for (int o : scales) seg.set(Quantization.I16_LE, at + o, Float16s.toF16((float) (rng.normal() * 0.01)));
        }
        return new QuantizedTensor(f, n, k, seg);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public Tensor matmul() {
        return QuantizedMatmul.matmul(x, weight);
    }

    @Benchmark
    public MemorySegment copy() {
        return copyTarget.copyFrom(fileBytes);
    }
}
