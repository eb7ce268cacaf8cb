package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The error function, for the exact GELU. Java has no {@code Math.erf}, and the Vector API has no ERF lane op.
 *
 * <p>The double versions are near full precision (about 2e-15 relative), so a float64 gradcheck of GELU sees a
 * smooth function: erf by its everywhere-positive series {@code erf(x) = 2/sqrt(pi) e^(-x^2) sum (2x^2)^n x /
 * (2n+1)!!} below 2, erfc by its continued fraction above. The float vector version uses two polynomials fitted
 * by {@code tools/fit_erf.py} (about 2e-7 relative for erf, and for erfc wherever it is above the float range's
 * bottom).
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
    // erfc(x) = exp(-x^2) * t * Q(t), t = 1 / (1 + x/2), for 1 <= x <= 10
    private static final float L0 = 0.2820842334594547f, L1 = 0.28238389665256186f, L2 = 0.2434368421945028f,
            L3 = 0.19869307341387277f, L4 = -0.006857090395498342f, L5 = 0.22565475285899878f,
            L6 = -0.4093410421356477f, L7 = 0.22343709258172814f, L8 = -0.039287235817834644f;
    private static final float LARGE_CAP = 10f; // erfc(10) = 2e-45 is below float; keep t in the fitted range
    private static final float GAUSS_CAP = 20f; // exp(-x^2/2) underflows float well before

    /** erf per lane, about 2e-7 relative. */
    public static FloatVector erf(FloatVector x) {
        FloatVector a = x.abs();
        FloatVector small = a.mul(smallPoly(a.mul(a)));
        FloatVector large = erfcLarge(a, gaussian(a, 1f)).neg().add(1f);
        FloatVector r = large.blend(small, a.lt(1f));
        return r.blend(r.neg(), x.lt(0f)); // erf is odd
    }

    /**
     * The standard normal CDF per lane, {@code 0.5 erfc(-x/sqrt 2)}, accurate in relative terms in the lower tail
     * too (where GELU needs it).
     */
    public static FloatVector normalCdf(FloatVector x) {
        FloatVector z = x.mul(0.70710677f); // the CDF is 0.5 erfc(-z)
        FloatVector a = z.abs();
        FloatVector small = z.mul(smallPoly(z.mul(z))).mul(0.5f).add(0.5f); // 0.5 + 0.5 erf(z), |z| < 1
        FloatVector tail = erfcLarge(a, gaussian(x, 0.5f)).mul(0.5f); // 0.5 erfc(|z|); exp(-z^2) = exp(-x^2/2)
        FloatVector large = tail.blend(tail.neg().add(1f), z.compare(VectorOperators.GT, 0f));
        return large.blend(small, a.lt(1f));
    }

    /**
     * {@code exp(-scale * x^2)}, with the rounding error of x^2 (exact by FMA) folded in to first order: without
     * it the relative error of the tail would grow like x^2 * 6e-8.
     */
    private static FloatVector gaussian(FloatVector x, float scale) {
        FloatVector c = x.max(-GAUSS_CAP).min(GAUSS_CAP); // beyond it the result is 0 anyway; x^2 must stay finite
        FloatVector sq = c.mul(c);
        FloatVector err = c.lanewise(VectorOperators.FMA, c, sq.neg());
        return sq.mul(-scale).lanewise(VectorOperators.EXP).mul(err.mul(-scale).add(1f));
    }

    private static FloatVector smallPoly(FloatVector s) {
        FloatVector r = s.mul(S6).add(S5);
        r = r.lanewise(VectorOperators.FMA, s, S4);
        r = r.lanewise(VectorOperators.FMA, s, S3);
        r = r.lanewise(VectorOperators.FMA, s, S2);
        r = r.lanewise(VectorOperators.FMA, s, S1);
        return r.lanewise(VectorOperators.FMA, s, S0);
    }

    /** erfc(a) for a >= 1 given {@code gauss = exp(-a^2)}; lanes with a < 1 give values nobody uses. */
    private static FloatVector erfcLarge(FloatVector a, FloatVector gauss) {
        FloatVector capped = a.min(LARGE_CAP).max(1f);
        FloatVector t = FloatVector.broadcast(a.species(), 1f).div(capped.mul(0.5f).add(1f));
        FloatVector q = t.mul(L8).add(L7);
        q = q.lanewise(VectorOperators.FMA, t, L6);
        q = q.lanewise(VectorOperators.FMA, t, L5);
        q = q.lanewise(VectorOperators.FMA, t, L4);
        q = q.lanewise(VectorOperators.FMA, t, L3);
        q = q.lanewise(VectorOperators.FMA, t, L2);
        q = q.lanewise(VectorOperators.FMA, t, L1);
        q = q.lanewise(VectorOperators.FMA, t, L0);
        return gauss.mul(t).mul(q);
    }
}
