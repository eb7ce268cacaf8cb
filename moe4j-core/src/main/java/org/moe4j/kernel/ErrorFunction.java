package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The error function, for the exact GELU. Java has no {@code Math.erf}, and the Vector API has no ERF lane op.
 *
 * <p>The double versions are near full precision (about 2e-15 relative), so a float64 gradcheck of GELU sees a
 * smooth function: erf by its everywhere-positive series {@code erf(x) = 2/sqrt(pi) e^(-x^2) sum (2x^2)^n x /
 * (2n+1)!!} below 2, erfc by its continued fraction above. The float array versions use two polynomials fitted
 * by {@code tools/fit_erf.py}: about 1.6e-7 relative for erf, and 3e-7 for the normal CDF, in its lower tail too
 * (down to where float runs out).
 */
public final class ErrorFunction {
    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;
    private static final double INV_SQRT_PI = 0.5641895835477563;
    private static final double SERIES_LIMIT = 2.0; // series below, continued fraction above

    private ErrorFunction() {}

    /** erf(x) in double precision. */
    public static double erf(double x) {
        double a = Math.abs(x);
        if (Double.isNaN(x)) return x;
        double r = a < SERIES_LIMIT ? erfSeries(a) : 1 - erfcFraction(a);
        return Math.copySign(r, x);
    }

    /** erfc(x) = 1 - erf(x) in double precision, accurate in relative terms for large positive x. */
    public static double erfc(double x) {
        if (Double.isNaN(x)) return x;
        if (x >= SERIES_LIMIT) return erfcFraction(x);
        if (x <= -SERIES_LIMIT) return 2 - erfcFraction(-x);
        return 1 - Math.copySign(erfSeries(Math.abs(x)), x);
    }

    /** The standard normal CDF, {@code 0.5 erfc(-x / sqrt 2)}. */
    public static double normalCdf(double x) {
        return 0.5 * erfc(-x * 0.7071067811865476);
    }

    /** exp(-x^2) with the rounding error of x^2 corrected (it would cost relative accuracy for large x). */
    private static double expMinusSquare(double x) {
        double p = x * x;
        double e = Math.fma(x, x, -p);
        return Math.exp(-p) * (1 - e);
    }

    /** erf(a) for 0 <= a < 2: all series terms are positive, so nothing cancels. */
    private static double erfSeries(double a) {
        double twoA2 = 2 * a * a;
        double term = a;
        double sum = a;
        for (int n = 1; n < 200 && term > 1e-17 * sum; n++) {
            term *= twoA2 / (2 * n + 1);
            sum += term;
        }
        return TWO_OVER_SQRT_PI * expMinusSquare(a) * sum;
    }

    /**
     * erfc(x) for x >= 2 by the continued fraction {@code e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x +
     * ...))))}, evaluated by the modified Lentz method.
     */
    private static double erfcFraction(double x) {
        if (x > 27) return 0; // erfc(27) < 1e-318: below the smallest double
        double f = x;
        double c = x;
        double d = 0;
        for (int k = 1; k < 500; k++) {
            double a = 0.5 * k;
            d = 1 / (x + a * d);
            c = x + a / c;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) break;
        }
        return INV_SQRT_PI * expMinusSquare(x) / f;
    }

    // ---- float vectors ---------------------------------------------------------------------------------------

    // erf(x) = x * P(x^2) for |x| < 1; coefficients from tools/fit_erf.py, lowest degree first
    private static final float S0 = 1.12837916573862f, S1 = -0.376126258575048f, S2 = 0.11283585412453093f,
            S3 = -0.02685382089892635f, S4 = 0.005188342501745463f, S5 = -0.0008010311293098343f,
            S6 = 7.854221115695392e-05f;
    // erfc(x) = exp(-x^2) * t * Q(t), t = 1 / (1 + x/2), for 0.5 <= x <= 10
    private static final float L0 = 0.2820758811073127f, L1 = 0.2825866606136915f, L2 = 0.24136154709898414f,
            L3 = 0.2103926443278697f, L4 = -0.046630176475241196f, L5 = 0.30927082900291f,
            L6 = -0.5157039924208943f, L7 = 0.2984415573436999f, L8 = -0.06178537360545323f;
    private static final float LARGE_CAP = 10f; // erfc(10) = 2e-45 is below float; keep t in the fitted range
    private static final float GAUSS_CAP = 20f; // exp(-x^2/2) underflows float well before

    /** {@code out[oo + i] = erf(x[ox + i])} for i in [0, n), about 2e-7 relative. */
    public static void erf(float[] x, int ox, float[] out, int oo, int n) {
        int i = kernel(false, x, ox, out, oo, n);
        for (; i < n; i++) out[oo + i] = erfScalar(false, x[ox + i]);
    }

    /**
     * {@code out[oo + i] = Phi(x[ox + i])}, the standard normal CDF {@code 0.5 erfc(-x/sqrt 2)}, accurate in
     * relative terms in the lower tail too (where GELU needs it).
     */
    public static void normalCdf(float[] x, int ox, float[] out, int oo, int n) {
        int i = kernel(true, x, ox, out, oo, n);
        for (; i < n; i++) out[oo + i] = erfScalar(true, x[ox + i]);
    }

    /** One lane of {@link #kernel} in scalar code, operation for operation, so tails match lanes bit for bit. */
    private static float erfScalar(boolean cdf, float v) {
        float zScale = cdf ? 0.70710677f : 1f;
        float gaussScale = cdf ? 0.5f : 1f;
        float mul = cdf ? 0.5f : 1f;
        float add = cdf ? 0.5f : 0f;
        float negShift = cdf ? 0f : 1f;
        float smallLimit = cdf ? 0.5f : 1f;
        float z = v * zScale;
        float a = Math.abs(z);
        float z2 = z * z;
        float p = z2 * S6 + S5;
        p = Math.fma(p, z2, S4);
        p = Math.fma(p, z2, S3);
        p = Math.fma(p, z2, S2);
        p = Math.fma(p, z2, S1);
        float small = Math.fma(Math.fma(p, z2, S0) * z, mul, add);
        float c = Math.min(Math.max(v, -GAUSS_CAP), GAUSS_CAP);
        float sq = c * c;
        float err = Math.fma(c, c, -sq);
        float gauss = VectorMath.exp(sq * -gaussScale) * (err * -gaussScale + 1f);
        float t = 1f / (Math.max(Math.min(a, LARGE_CAP), 0.5f) * 0.5f + 1f);
        float q = t * L8 + L7;
        q = Math.fma(q, t, L6);
        q = Math.fma(q, t, L5);
        q = Math.fma(q, t, L4);
        q = Math.fma(q, t, L3);
        q = Math.fma(q, t, L2);
        q = Math.fma(q, t, L1);
        float tail = Math.fma(q, t, L0) * t * gauss * mul;
        float large = z > 0 ? 1f - tail : tail - negShift;
        return a < smallLimit ? small : large;
    }

    /**
     * The vector loop for erf ({@code cdf} false) or the normal CDF (true); returns where it stopped. Two passes:
     * the Gaussian factor into {@code out} by {@link VectorMath#exp}, then the rest in one loop body (vectors
     * passed to a call the JIT does not inline would be boxed on the heap).
     */
    private static int kernel(boolean cdf, float[] x, int ox, float[] out, int oo, int n) {
        VectorSpecies<Float> s = Backend.FLOATS;
        int vectorEnd = s.loopBound(n);
        float gaussScale = cdf ? 0.5f : 1f; // exp(-z^2) = exp(-gaussScale * x^2)
        for (int i = 0; i < vectorEnd; i += s.length()) {
            FloatVector c = FloatVector.fromArray(s, x, ox + i).max(-GAUSS_CAP).min(GAUSS_CAP);
            c.mul(c).mul(-gaussScale).intoArray(out, oo + i);
        }
        VectorMath.exp(out, oo, 0f, out, oo, vectorEnd);
        return finish(cdf, x, ox, out, oo, vectorEnd);
    }

    /** The second pass of {@link #kernel} over [0, n): {@code out} holds exp(-gaussScale * x^2) on entry. */
    private static int finish(boolean cdf, float[] x, int ox, float[] out, int oo, int n) {
        VectorSpecies<Float> s = Backend.FLOATS;
        // the two results differ only in constants, so one loop body serves both without branching on vectors
        float zScale = cdf ? 0.70710677f : 1f; // erf's argument is x / sqrt 2 for the CDF
        float gaussScale = cdf ? 0.5f : 1f; // exp(-z^2) = exp(-gaussScale * x^2)
        float mul = cdf ? 0.5f : 1f; // Phi = 0.5 + 0.5 erf(z); erf = 0 + 1 erf(z)
        float add = cdf ? 0.5f : 0f;
        float negShift = cdf ? 0f : 1f; // for z < 0: Phi = 0.5 erfc(|z|), erf = erfc(|z|) - 1
        // where the polynomial in z^2 hands over to erfc's: for the CDF already at 0.5, since 0.5 (1 + erf(z))
        // cancels for z near -1
        float smallLimit = cdf ? 0.5f : 1f;
        FloatVector one = FloatVector.broadcast(s, 1f);
        int i = 0;
        for (int upper = s.loopBound(n); i < upper; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, x, ox + i);
            FloatVector z = v.mul(zScale);
            FloatVector a = z.abs();
            // small |z|: erf(z) = z P(z^2)
            FloatVector z2 = z.mul(z);
            FloatVector p = z2.mul(S6).add(S5);
            p = p.lanewise(VectorOperators.FMA, z2, S4);
            p = p.lanewise(VectorOperators.FMA, z2, S3);
            p = p.lanewise(VectorOperators.FMA, z2, S2);
            p = p.lanewise(VectorOperators.FMA, z2, S1);
            FloatVector small = p.lanewise(VectorOperators.FMA, z2, S0).mul(z).lanewise(VectorOperators.FMA, mul, add);
            // larger |z|: erfc(|z|) = exp(-z^2) t Q(t), with the Gaussian corrected for the rounding of x^2
            FloatVector c = v.max(-GAUSS_CAP).min(GAUSS_CAP);
            FloatVector sq = c.mul(c);
            FloatVector err = c.lanewise(VectorOperators.FMA, c, sq.neg());
            FloatVector gauss = FloatVector.fromArray(s, out, oo + i).mul(err.mul(-gaussScale).add(1f));
            FloatVector t = one.div(a.min(LARGE_CAP).max(0.5f).mul(0.5f).add(1f));
            FloatVector q = t.mul(L8).add(L7);
            q = q.lanewise(VectorOperators.FMA, t, L6);
            q = q.lanewise(VectorOperators.FMA, t, L5);
            q = q.lanewise(VectorOperators.FMA, t, L4);
            q = q.lanewise(VectorOperators.FMA, t, L3);
            q = q.lanewise(VectorOperators.FMA, t, L2);
            q = q.lanewise(VectorOperators.FMA, t, L1);
            FloatVector tail = q.lanewise(VectorOperators.FMA, t, L0).mul(t).mul(gauss).mul(mul);
            FloatVector large = tail.sub(negShift).blend(one.sub(tail), z.compare(VectorOperators.GT, 0f));
            large.blend(small, a.compare(VectorOperators.LT, smallLimit)).intoArray(out, oo + i);
        }
        return i;
    }
}
