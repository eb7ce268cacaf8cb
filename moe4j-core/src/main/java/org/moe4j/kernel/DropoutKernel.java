package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * Dropout masks and their application.
 *
 * <p>The mask is counter-based: element i is kept when the i-th SplitMix64 output from {@code seed} is at
 * least {@code p * 2^53} (in its top 53 bits). Each element's draw depends only on (seed, i), so the mask can be
 * made in parallel and is the same for every thread count, and one seed drawn from the caller's Rng fixes it.
 */
public final class DropoutKernel {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    private static final int GRAIN = 1 << 15;

    private DropoutKernel() {}

    /** Keep flags for {@code n} elements: each is dropped with probability {@code p} in [0, 1). */
    public static boolean[] keepMask(int n, double p, long seed) {
        if (!(p >= 0 && p < 1)) throw new Moe4jException("dropout: p must be in [0, 1), got " + p);
        long threshold = (long) Math.ceil(p * 0x1p53); // exact: p * 2^53 only shifts the exponent
        boolean[] keep = new boolean[n];
        Parallel.forRange(n, GRAIN, (from, to) -> {
            for (int i = from; i < to; i++) keep[i] = (mix(seed + (i + 1L) * GOLDEN_GAMMA) >>> 11) >= threshold;
        });
        return keep;
    }

    /** The SplitMix64 finalizer (the same mixing {@code common.Rng} uses). */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** {@code keep[i] ? x[i] * scale : 0} over x's elements in row-major order, as a fresh tensor. */
    public static Tensor apply(Tensor x, boolean[] keep, double scale) {
        check(x, keep);
        if (!(Backend.vector() && x.dtype() == DType.F32)) return applyReference(x, keep, scale);
        Tensor xc = x.contiguous();
        float[] xa = xc.floats();
        int xo = xc.offset();
        Tensor out = x.newZeros(x.shape());
        float[] oa = out.floats();
        float s = (float) scale;
        Parallel.forRange(keep.length, GRAIN, (from, to) -> {
            int i = from;
            for (int upper = from + S.loopBound(to - from); i < upper; i += S.length()) {
                VectorMask<Float> m = VectorMask.fromArray(S, keep, i);
                FloatVector.fromArray(S, xa, xo + i).mul(s).blend(0f, m.not()).intoArray(oa, i);
            }
            for (; i < to; i++) oa[i] = keep[i] ? xa[xo + i] * s : 0f;
        });
        return out;
    }

    static Tensor applyReference(Tensor x, boolean[] keep, double scale) {
        check(x, keep);
        Tensor out = x.newZeros(x.shape());
        Storage xs = x.storage();
        Storage os = out.storage();
        // Scale in x's own precision, as the float path does.
        boolean f32 = x.dtype() == DType.F32;
        for (int i = 0; i < keep.length; i++) {
            double v = xs.get(x.storageIndex(i));
            os.set(i, !keep[i] ? 0 : f32 ? (float) v * (float) scale : v * scale);
        }
        return out;
    }

    private static void check(Tensor x, boolean[] keep) {
        if (keep.length != x.numel()) {
            throw ShapeException.of("dropout", "mask has " + keep.length + " flags for " + x.numel() + " elements",
                    x.shape());
        }
    }
}
