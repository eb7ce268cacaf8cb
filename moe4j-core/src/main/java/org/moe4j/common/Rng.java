package org.moe4j.common;

/**
 * A seeded, splittable random generator (SplitMix64). The same seed gives the same stream on every JVM, and
 * {@link #split()} derives an independent child stream, so each consumer (an initializer, a dropout layer, a
 * data shuffler) can own its generator without the order of calls elsewhere changing its numbers.
 *
 * <p>Not thread-safe: give each thread its own split.
 */
public final class Rng {
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    private long state;
    private double spareNormal = Double.NaN;

    public Rng(long seed) {
        this.state = seed;
    }

    /** The generator's full state, to save in a checkpoint; {@link #restore} continues the stream exactly. */
    public long[] state() {
        return new long[] {state, Double.doubleToRawLongBits(spareNormal)};
    }

    public static Rng restore(long[] saved) {
        if (saved == null || saved.length != 2) throw new Moe4jException("Rng.restore: expected 2 longs of state");
        Rng rng = new Rng(saved[0]);
        rng.spareNormal = Double.longBitsToDouble(saved[1]);
        return rng;
    }

    public long nextLong() {
        long z = (state += GOLDEN_GAMMA);
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** A child generator whose stream does not overlap this one's in practice. */
    public Rng split() {
        return new Rng(nextLong() ^ 0x5851f42d4c957f2dL);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [0, 1) with 24 random bits. */
    public float nextFloat() {
        return (nextLong() >>> 40) * 0x1.0p-24f;
    }

    /** Uniform in [lo, hi). */
    public double uniform(double lo, double hi) {
        return lo + (hi - lo) * nextDouble();
    }

    /** Uniform integer in [0, bound), without modulo bias. */
    public int nextInt(int bound) {
        if (bound <= 0) throw new Moe4jException("Rng.nextInt: bound must be positive, got " + bound);
        long r = nextLong() >>> 33; // 31 random bits
        long limit = (1L << 31) - ((1L << 31) % bound);
        while (r >= limit) r = nextLong() >>> 33;
        return (int) (r % bound);
    }

    /** Standard normal by the Marsaglia polar method; the second value of each pair is kept for the next call. */
    public double normal() {
        if (!Double.isNaN(spareNormal)) {
            double v = spareNormal;
            spareNormal = Double.NaN;
            return v;
        }
        double u, v, s;
        do {
            u = 2 * nextDouble() - 1;
            v = 2 * nextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double m = Math.sqrt(-2 * Math.log(s) / s);
        spareNormal = v * m;
        return u * m;
    }

    public double normal(double mean, double std) {
        return mean + std * normal();
    }

    /** True with probability p. */
    public boolean bernoulli(double p) {
        return nextDouble() < p;
    }

    /** Shuffles the array in place (Fisher-Yates). */
    public void shuffle(int[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
