package org.moe4j.kernel;

import java.time.Duration;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

/**
 * A short start-up check that the Vector API is compiled to SIMD instructions on this JVM. It times a float dot
 * product over arrays small enough to stay in L1, once with {@link Backend#FLOATS} vectors and once as a plain
 * scalar loop. When the JIT intrinsifies the Vector API the vector loop is several times faster; when it does not
 * (interpreter only, C2 disabled, {@code -XX:TieredStopAtLevel=1}) each vector op allocates and the "fast" path
 * is slower than the scalar one. {@code moe4j info} reports the result and warns on a weak speedup.
 */
public final class VectorSelfTest {
    /** Below this speedup the vector path is not "clearly faster" and the Vector API is likely not intrinsified. */
    public static final double CLEARLY_FASTER = 2.0;

    /** 2 x 8 KiB of floats: both operands stay in any L1 data cache, so the loops measure compute, not memory. */
    static final int LENGTH = 2048;

    private static final VectorSpecies<Float> S = Backend.FLOATS;

    /**
     * What the self-test measured.
     *
     * @param bits vector width of the species used, in bits
     * @param lanes float lanes per vector
     * @param length floats per operand
     * @param scalarGflops scalar loop throughput (one multiply and one add per element)
     * @param vectorGflops Vector API loop throughput
     * @param speedup vectorGflops / scalarGflops
     * @param warmup how long the loops ran before the reported timing (long when the vector loop stayed slow)
     */
    public record Result(int bits, int lanes, int length, double scalarGflops, double vectorGflops, double speedup,
            Duration warmup) {
        /** True when the vector path is at least {@link #CLEARLY_FASTER} times the scalar one. */
        public boolean clearlyFaster() {
            return speedup >= CLEARLY_FASTER;
        }
    }

    private VectorSelfTest() {}

    /** Runs the self-test: about 100 ms when the Vector API is intrinsified, up to about 2 s when it is not. */
    public static Result run() {
        return run(Duration.ofMillis(100), Duration.ofSeconds(2));
    }

    /**
     * Warms both loops up for {@code budget / 2}, then times each for {@code budget / 4}, and repeats the timing
     * until the vector loop is clearly faster or {@code maxWarmup} has passed; reports the last timing. Waiting
     * matters: right after JVM start the compiler queue is long, a freshly compiled loop may still be deoptimized
     * and recompiled, and an interpreted Vector API loop is so slow that one fixed short timing would report a
     * healthy JVM as broken.
     */
    public static Result run(Duration budget, Duration maxWarmup) {
        long total = budget.toNanos();
        if (total <= 0) throw new Moe4jException("VectorSelfTest: budget must be positive, got " + budget);
        Rng rng = new Rng(7);
        float[] a = new float[LENGTH];
        float[] b = new float[LENGTH];
        for (int i = 0; i < LENGTH; i++) {
            a[i] = rng.nextFloat() - 0.5f;
            b[i] = rng.nextFloat() - 0.5f;
        }
        long start = System.nanoTime();
        long[] calls = new long[1];
        time(total / 4, calls, () -> dotScalar(a, b));
        time(total / 4, calls, () -> dotVector(a, b));
        double scalar;
        double vector;
        long warmup;
        do {
            warmup = System.nanoTime() - start;
            scalar = gflops(total / 4, () -> dotScalar(a, b));
            vector = gflops(total / 4, () -> dotVector(a, b));
        } while (vector < CLEARLY_FASTER * scalar && System.nanoTime() - start < maxWarmup.toNanos());
        checkAgreement(a, b);
        return new Result(S.vectorBitSize(), S.length(), LENGTH, scalar, vector, vector / scalar,
                Duration.ofNanos(warmup));
    }

    private static double gflops(long nanos, Dot dot) {
        long[] calls = new long[1];
        long elapsed = time(nanos, calls, dot);
        return 2.0 * LENGTH * calls[0] / elapsed;
    }

    @FunctionalInterface
    private interface Dot {
        float run();
    }

    /** Calls {@code dot} in batches until {@code nanos} have passed; returns the time taken, counts calls. */
    private static long time(long nanos, long[] calls, Dot dot) {
        // The sum keeps the results alive so the JIT cannot drop the loops; NaN would mean a broken loop.
        float sink = 0;
        long start = System.nanoTime();
        long now;
        do {
            // Batches keep the clock's own cost (tens of ns) small beside a compiled call (~100 ns).
            for (int r = 0; r < 8; r++) sink += dot.run();
            calls[0] += 8;
            now = System.nanoTime();
        } while (now - start < nanos);
        if (Float.isNaN(sink)) throw new Moe4jException("VectorSelfTest: dot product produced NaN");
        return Math.max(1, now - start);
    }

    /** The two loops sum in different orders, so they agree only to rounding; a larger gap is a broken kernel. */
    private static void checkAgreement(float[] a, float[] b) {
        double exact = 0;
        double magnitude = 0;
        for (int i = 0; i < LENGTH; i++) {
            exact += (double) a[i] * b[i];
            magnitude += Math.abs((double) a[i] * b[i]);
        }
        double tolerance = 1e-5 * magnitude;
        float scalar = dotScalar(a, b);
        float vector = dotVector(a, b);
        if (Math.abs(scalar - exact) > tolerance || Math.abs(vector - exact) > tolerance) {
            throw new Moe4jException("VectorSelfTest: dot products disagree: scalar " + scalar + ", vector " + vector
                    + ", exact " + exact);
        }
    }

    /** The scalar loop: a strict left-to-right float sum, which the JIT does not vectorize. */
    static float dotScalar(float[] a, float[] b) {
        float sum = 0;
        for (int i = 0; i < a.length; i++) sum += a[i] * b[i];
        return sum;
    }

    /** The Vector API loop: two accumulators hide some of the FMA latency, as a real kernel would. */
    static float dotVector(float[] a, float[] b) {
        FloatVector acc0 = FloatVector.zero(S);
        FloatVector acc1 = FloatVector.zero(S);
        int step = 2 * S.length();
        int i = 0;
        for (int upper = a.length - a.length % step; i < upper; i += step) {
            acc0 = FloatVector.fromArray(S, a, i).fma(FloatVector.fromArray(S, b, i), acc0);
            acc1 = FloatVector.fromArray(S, a, i + S.length()).fma(FloatVector.fromArray(S, b, i + S.length()), acc1);
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < a.length; i++) sum += a[i] * b[i];
        return sum;
    }
}
