package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Deterministic float building blocks for the fast paths: exp and lane sums.
 *
 * <p>Why not the Vector API's own: its transcendental lane ops ({@code EXP}, {@code TANH}, ...) are computed by
 * per-lane {@code Math} calls until C2 compiles the loop and by SVML afterwards, and the two differ in the last
 * bit; {@code reduceLanes(ADD)} may add the lanes in any order, and does so differently once compiled. Either
 * would make a result depend on how warm the JIT is. Here exp is built from FMAs, integer shifts and
 * conversions, which every tier computes exactly alike, and lanes are added in lane order. {@link #exp(float)}
 * is the scalar twin, bit-identical to a lane, so a result never depends on an element's position either.
 */
public final class VectorMath {
    private static final VectorSpecies<Float> S = Backend.FLOATS;

    private static final float LOG2E = 1.4426950408889634f;
    // ln 2 split so that k * LN2_HI is exact for every k that occurs (LN2_HI has 9 significant bits)
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUNDER = 12582912f; // 1.5 * 2^23: adding it rounds to an integer
    private static final float MAX = 88.72284f; // above: overflow to infinity
    private static final float MIN = -104f; // below: underflow to zero
    // exp(r) on |r| <= ln2 / 2 by its Taylor polynomial of degree 7 (truncation error below 6e-9)
    private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    private VectorMath() {}

    /** exp(x) within about 2 ulp, bit-identical to one lane of the array version. */
    public static float exp(float x) {
        float c = Math.min(Math.max(x, MIN), MAX);
        float kf = Math.fma(c, LOG2E, ROUNDER) - ROUNDER; // round(x / ln 2)
        float r = Math.fma(kf, -LN2_HI, c);
        r = Math.fma(kf, -LN2_LO, r);
        float p = Math.fma(C7, r, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        int k = (int) kf;
        int k1 = k >> 1; // 2^k as two factors, so that results in the subnormal range and 2^128 come out right
        int k2 = k - k1;
        return p * Float.intBitsToFloat((k1 + 127) << 23) * Float.intBitsToFloat((k2 + 127) << 23);
    }

    /**
     * {@code o[oo + i] = exp(x[ox + i] + shift)} for i in [0, n) when {@code o} is not null, and returns the sum of
     * those exponentials (lanes in order, then the tail). {@code o} may be {@code x} itself.
     */
    public static float exp(float[] x, int ox, float shift, float[] o, int oo, int n) {
        int l = S.length();
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += l) {
            FloatVector e = exp(FloatVector.fromArray(S, x, ox + i).add(shift));
            if (o != null) e.intoArray(o, oo + i);
            acc = acc.add(e);
        }
        float sum = sumLanes(acc);
        for (; i < n; i++) {
            float e = exp(x[ox + i] + shift);
            if (o != null) o[oo + i] = e;
            sum += e;
        }
        return sum;
    }

    /**
     * exp of each lane, the lane function of {@link #exp(float[], int, float, float[], int, int)} and bit-identical
     * to {@link #exp(float)}: for kernels that need exp(x) in registers, in a loop of their own (small enough to
     * be inlined there, so the vectors stay in registers).
     */
    static FloatVector exp(FloatVector v) {
        FloatVector c = v.max(MIN).min(MAX);
        FloatVector kf = c.lanewise(VectorOperators.FMA, LOG2E, ROUNDER).sub(ROUNDER);
        FloatVector r = kf.lanewise(VectorOperators.FMA, -LN2_HI, c);
        r = kf.lanewise(VectorOperators.FMA, -LN2_LO, r);
        FloatVector p = r.lanewise(VectorOperators.FMA, C7, C6);
        p = p.lanewise(VectorOperators.FMA, r, C5);
        p = p.lanewise(VectorOperators.FMA, r, C4);
        p = p.lanewise(VectorOperators.FMA, r, C3);
        p = p.lanewise(VectorOperators.FMA, r, C2);
        p = p.lanewise(VectorOperators.FMA, r, 1f);
        p = p.lanewise(VectorOperators.FMA, r, 1f);
        IntVector k = (IntVector) kf.convert(VectorOperators.F2I, 0);
        IntVector k1 = k.lanewise(VectorOperators.ASHR, 1);
        IntVector k2 = k.sub(k1);
        FloatVector s1 = k1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = k2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(s1).mul(s2);
    }

    /** The lanes of {@code v} added in lane order. */
    static float sumLanes(FloatVector v) {
        return addInOrder(v.toArray());
    }

    private static float addInOrder(float[] lanes) {
        float s = 0;
        for (float f : lanes) s += f;
        return s;
    }
}
