package org.moe4j.kernel;

import static org.moe4j.kernel.Elementwise.GELU_TANH_K;
import static org.moe4j.kernel.Elementwise.INV_SQRT_2PI;
import static org.moe4j.kernel.Elementwise.SQRT_2_OVER_PI;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.kernel.Elementwise.Fn;

/**
 * The float vector loops behind {@link Elementwise#map} and {@link Elementwise#mapBackward}.
 *
 * <p>Each function has its own small loop method. Vector values must never cross a call that the JIT does not
 * inline (they would be boxed on the heap), and one large method holding every loop was inlined and compiled
 * unpredictably (an op ran 5-15x slower depending on which ran first); so loops call only helpers of a few
 * bytecodes, or helpers over arrays. Each loop returns where it stopped, and the scalar definition in
 * {@link Elementwise} finishes the tail. Exponentials come from {@link VectorMath} (the same bits in every JIT
 * tier); LOG, TANH, softplus and pow other than squares have no vector loop, since the Vector API's versions
 * change bits between tiers and Math's do not.
 */
final class UnaryLoops {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int CACHE_BLOCK = 1 << 11; // two-pass loops work on blocks this long, which stay in L1

    private UnaryLoops() {}

    /** One chunk of {@link Elementwise#map}: {@code o[i] = f(x[ox + i])} for i in [from, to). */
    static void map(Fn fn, float[] x, int ox, float[] o, int from, int to, float p, float q) {
        int done = switch (fn) {
            case AFFINE -> affine(x, ox, o, from, to, p, q);
            case EXP -> exp(x, ox, o, from, to);
            case LOG, TANH, SOFTPLUS -> from; // no vector loop (see the class comment)
            case SQRT -> sqrt(x, ox, o, from, to);
            case RSQRT -> rsqrt(x, ox, o, from, to);
            case ABS -> abs(x, ox, o, from, to);
            case RELU -> relu(x, ox, o, from, to);
            case GELU -> gelu(x, ox, o, from, to);
            case GELU_TANH -> geluTanh(x, ox, o, from, to);
            case SILU -> silu(x, ox, o, from, to);
            case SIGMOID -> sigmoid(x, ox, o, from, to);
            case CLAMP -> clamp(x, ox, o, from, to, p, q);
            case POW -> pow(x, ox, o, from, to, p);
        };
        for (int i = done; i < to; i++) o[i] = (float) Elementwise.apply(fn, x[ox + i], p, q);
    }

    /** One chunk of {@link Elementwise#mapBackward}: {@code o[i] = g[og + i] * f'(x[ox + i])}. */
    static void backward(Fn fn, float[] x, int ox, float[] y, int oy, float[] g, int og, float[] o,
            int from, int to, float p, float q) {
        int done = switch (fn) {
            case AFFINE -> affineBack(g, og, o, from, to, p);
            case EXP -> expBack(y, oy, g, og, o, from, to);
            case LOG -> logBack(x, ox, g, og, o, from, to);
            case SQRT -> sqrtBack(y, oy, g, og, o, from, to);
            case RSQRT -> rsqrtBack(y, oy, g, og, o, from, to);
            case ABS -> absBack(x, ox, g, og, o, from, to);
            case RELU -> reluBack(x, ox, g, og, o, from, to);
            case GELU -> geluBack(x, ox, g, og, o, from, to);
            case GELU_TANH -> geluTanhBack(x, ox, g, og, o, from, to);
            case SILU -> siluBack(x, ox, g, og, o, from, to);
            case SIGMOID -> sigmoidBack(y, oy, g, og, o, from, to);
            case TANH -> tanhBack(y, oy, g, og, o, from, to);
            case SOFTPLUS -> softplusBack(x, ox, g, og, o, from, to, p, q);
            case CLAMP -> clampBack(x, ox, g, og, o, from, to, p, q);
            case POW -> powBack(x, ox, g, og, o, from, to, p);
        };
        for (int i = done; i < to; i++) o[i] = (float) Elementwise.chain(g[og + i], Elementwise.derivative(fn, x[ox + i], y[oy + i], p, q));
    }

    private static int upper(int from, int to) {
        return from + S.loopBound(to - from);
    }

    private static FloatVector load(float[] a, int i) {
        return FloatVector.fromArray(S, a, i);
    }

    // forward loops: o[i] = f(x[ox + i]) for i in [from, returned index)

    private static int affine(float[] x, int ox, float[] o, int from, int to, float p, float q) {
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) load(x, ox + i).lanewise(VectorOperators.FMA, p, q).intoArray(o, i);
        return i;
    }

    private static int exp(float[] x, int ox, float[] o, int from, int to) {
        VectorMath.exp(x, ox + from, 0f, o, from, to - from);
        return to;
    }

    private static int sqrt(float[] x, int ox, float[] o, int from, int to) {
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) load(x, ox + i).sqrt().intoArray(o, i);
        return i;
    }

    private static int rsqrt(float[] x, int ox, float[] o, int from, int to) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) one.div(load(x, ox + i).sqrt()).intoArray(o, i);
        return i;
    }

    private static int abs(float[] x, int ox, float[] o, int from, int to) {
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) load(x, ox + i).abs().intoArray(o, i);
        return i;
    }

    private static int relu(float[] x, int ox, float[] o, int from, int to) {
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) load(x, ox + i).max(0f).intoArray(o, i);
        return i;
    }

    /** x * Phi(x): Phi by the array kernel, a block at a time so the second pass reads from cache. */
    private static int gelu(float[] x, int ox, float[] o, int from, int to) {
        for (int b = from; b < to; b += CACHE_BLOCK) {
            int e = Math.min(to, b + CACHE_BLOCK);
            ErrorFunction.normalCdf(x, ox + b, o, b, e - b);
            int i = b;
            for (int u = upper(b, e); i < u; i += S.length()) load(o, i).mul(load(x, ox + i)).intoArray(o, i);
            for (; i < e; i++) o[i] *= x[ox + i];
        }
        return to;
    }

    /** {@code x * sigmoid(2u)} with {@code u = sqrt(2/pi) (x + k x^3)}: exp(-2u) into o, then x / (1 + o). */
    private static int geluTanh(float[] x, int ox, float[] o, int from, int to) {
        for (int b = from; b < to; b += CACHE_BLOCK) {
            int e = Math.min(to, b + CACHE_BLOCK);
            minusTwoU(x, ox, o, b, e);
            VectorMath.exp(o, b, 0f, o, b, e - b);
            int i = b;
            for (int u = upper(b, e); i < u; i += S.length()) load(x, ox + i).div(load(o, i).add(1f)).intoArray(o, i);
            for (; i < e; i++) o[i] = x[ox + i] / (o[i] + 1f);
        }
        return to;
    }

    /** {@code o = -2u(x)} over [b, e), u the tanh-GELU's inner polynomial; x clamped where the result is saturated. */
    private static void minusTwoU(float[] x, int ox, float[] o, int b, int e) {
        float c3 = (float) (-2 * SQRT_2_OVER_PI * GELU_TANH_K);
        float c1 = (float) (-2 * SQRT_2_OVER_PI);
        int i = b;
        for (int u = upper(b, e); i < u; i += S.length()) {
            FloatVector v = load(x, ox + i).max(-20f).min(20f);
            v.mul(v).mul(c3).add(c1).mul(v).intoArray(o, i);
        }
        for (; i < e; i++) {
            float v = Math.min(Math.max(x[ox + i], -20f), 20f);
            o[i] = (v * v * c3 + c1) * v;
        }
    }

    /** {@code o = exp(scale * x)} over [b, e). */
    private static void expOfScaled(float[] x, int ox, float scale, float[] o, int b, int e) {
        int i = b;
        for (int u = upper(b, e); i < u; i += S.length()) load(x, ox + i).mul(scale).intoArray(o, i);
        for (; i < e; i++) o[i] = x[ox + i] * scale;
        VectorMath.exp(o, b, 0f, o, b, e - b);
    }

    /** {@code x / (1 + exp(-x))}: the exponentials into o, then the division. */
    private static int silu(float[] x, int ox, float[] o, int from, int to) {
        for (int b = from; b < to; b += CACHE_BLOCK) {
            int e = Math.min(to, b + CACHE_BLOCK);
            expOfScaled(x, ox, -1f, o, b, e);
            int i = b;
            for (int u = upper(b, e); i < u; i += S.length()) load(x, ox + i).div(load(o, i).add(1f)).intoArray(o, i);
            for (; i < e; i++) o[i] = x[ox + i] / (o[i] + 1f);
        }
        return to;
    }

    private static int sigmoid(float[] x, int ox, float[] o, int from, int to) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int b = from; b < to; b += CACHE_BLOCK) {
            int e = Math.min(to, b + CACHE_BLOCK);
            expOfScaled(x, ox, -1f, o, b, e);
            int i = b;
            for (int u = upper(b, e); i < u; i += S.length()) one.div(load(o, i).add(1f)).intoArray(o, i);
            for (; i < e; i++) o[i] = 1f / (o[i] + 1f);
        }
        return to;
    }

    private static int clamp(float[] x, int ox, float[] o, int from, int to, float lo, float hi) {
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) load(x, ox + i).max(lo).min(hi).intoArray(o, i);
        return i;
    }

    /** Squares by vectors; other exponents by Math.pow, as LOG. */
    private static int pow(float[] x, int ox, float[] o, int from, int to, float p) {
        int i = from;
        if (p == 2f) {
            for (int u = upper(from, to); i < u; i += S.length()) {
                FloatVector v = load(x, ox + i);
                v.mul(v).intoArray(o, i);
            }
        }
        return i;
    }

    // backward loops: o[i] = g[og + i] * f'(x[ox + i]) for i in [from, returned index)

    private static int affineBack(float[] g, int og, float[] o, int from, int to, float p) {
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) load(g, og + i).mul(p).intoArray(o, i);
        return i;
    }

    private static int expBack(float[] y, int oy, float[] g, int og, float[] o, int from, int to) {
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) load(g, og + i).mul(load(y, oy + i)).intoArray(o, i);
        return i;
    }

    private static int logBack(float[] x, int ox, float[] g, int og, float[] o, int from, int to) {
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) load(g, og + i).div(load(x, ox + i)).intoArray(o, i);
        return i;
    }

    private static int sqrtBack(float[] y, int oy, float[] g, int og, float[] o, int from, int to) {
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) load(g, og + i).mul(0.5f).div(load(y, oy + i)).intoArray(o, i);
        return i;
    }

    private static int rsqrtBack(float[] y, int oy, float[] g, int og, float[] o, int from, int to) {
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) {
            FloatVector v = load(y, oy + i);
            load(g, og + i).mul(v.mul(v).mul(v)).mul(-0.5f).intoArray(o, i);
        }
        return i;
    }

    private static int absBack(float[] x, int ox, float[] g, int og, float[] o, int from, int to) {
        FloatVector zero = FloatVector.zero(S);
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) {
            FloatVector v = load(x, ox + i);
            FloatVector gv = load(g, og + i);
            FloatVector r = zero.blend(gv, v.compare(VectorOperators.GT, 0f));
            r.blend(gv.neg(), v.compare(VectorOperators.LT, 0f)).intoArray(o, i);
        }
        return i;
    }

    private static int reluBack(float[] x, int ox, float[] g, int og, float[] o, int from, int to) {
        FloatVector zero = FloatVector.zero(S);
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) {
            zero.blend(load(g, og + i), load(x, ox + i).compare(VectorOperators.GT, 0f)).intoArray(o, i);
        }
        return i;
    }

    /** {@code g * (Phi(x) + x phi(x))}: Phi into o and the Gaussian into a scratch block, then one pass. */
    private static int geluBack(float[] x, int ox, float[] g, int og, float[] o, int from, int to) {
        float c = (float) INV_SQRT_2PI;
        float[] gauss = new float[Math.min(CACHE_BLOCK, to - from)];
        for (int b = from; b < to; b += CACHE_BLOCK) {
            int e = Math.min(to, b + CACHE_BLOCK);
            ErrorFunction.normalCdf(x, ox + b, o, b, e - b);
            int i = b;
            for (int u = upper(b, e); i < u; i += S.length()) {
                FloatVector v = load(x, ox + i).max(-20f).min(20f); // keeps v^2 finite; phi is 0 out there anyway
                v.mul(v).mul(-0.5f).intoArray(gauss, i - b);
            }
            for (; i < e; i++) {
                float v = Math.min(Math.max(x[ox + i], -20f), 20f);
                gauss[i - b] = v * v * -0.5f;
            }
            VectorMath.exp(gauss, 0, 0f, gauss, 0, e - b);
            i = b;
            for (int u = upper(b, e); i < u; i += S.length()) {
                FloatVector pdf = load(gauss, i - b).mul(c);
                load(x, ox + i).lanewise(VectorOperators.FMA, pdf, load(o, i)).mul(load(g, og + i)).intoArray(o, i);
            }
            for (; i < e; i++) o[i] = Math.fma(x[ox + i], gauss[i - b] * c, o[i]) * g[og + i];
        }
        return to;
    }

    /** {@code g * (s + 2 x s (1 - s) u')} with {@code s = sigmoid(2u)}: exp(-2u) into o first. */
    private static int geluTanhBack(float[] x, int ox, float[] g, int og, float[] o, int from, int to) {
        float du2 = (float) (3 * GELU_TANH_K * SQRT_2_OVER_PI);
        float du0 = (float) SQRT_2_OVER_PI;
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int b = from; b < to; b += CACHE_BLOCK) {
            int e = Math.min(to, b + CACHE_BLOCK);
            minusTwoU(x, ox, o, b, e);
            VectorMath.exp(o, b, 0f, o, b, e - b);
            int i = b;
            for (int u = upper(b, e); i < u; i += S.length()) {
                // beyond |x| = 20 the derivative is exactly 0 or 1; clamping keeps inf * 0 out of it
                FloatVector v = load(x, ox + i).max(-20f).min(20f);
                FloatVector s = one.div(load(o, i).add(1f));
                FloatVector du = v.mul(v).mul(du2).add(du0);
                FloatVector d = v.mul(2f).mul(s).mul(one.sub(s)).lanewise(VectorOperators.FMA, du, s);
                load(g, og + i).mul(d).intoArray(o, i);
            }
            for (; i < e; i++) {
                float v = Math.min(Math.max(x[ox + i], -20f), 20f);
                float s = 1f / (o[i] + 1f);
                float du = v * v * du2 + du0;
                o[i] = g[og + i] * Math.fma(v * 2f * s * (1f - s), du, s);
            }
        }
        return to;
    }

    /** {@code g * s (1 + x (1 - s))} with {@code s = sigmoid(x)}: exp(-x) into o first. */
    private static int siluBack(float[] x, int ox, float[] g, int og, float[] o, int from, int to) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int b = from; b < to; b += CACHE_BLOCK) {
            int e = Math.min(to, b + CACHE_BLOCK);
            expOfScaled(x, ox, -1f, o, b, e);
            int i = b;
            for (int u = upper(b, e); i < u; i += S.length()) {
                FloatVector v = load(x, ox + i);
                FloatVector s = one.div(load(o, i).add(1f));
                load(g, og + i).mul(s.mul(v.lanewise(VectorOperators.FMA, one.sub(s), one))).intoArray(o, i);
            }
            for (; i < e; i++) {
                float s = 1f / (o[i] + 1f);
                o[i] = g[og + i] * (s * Math.fma(x[ox + i], 1f - s, 1f));
            }
        }
        return to;
    }

    private static int sigmoidBack(float[] y, int oy, float[] g, int og, float[] o, int from, int to) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) {
            FloatVector v = load(y, oy + i);
            load(g, og + i).mul(v.mul(one.sub(v))).intoArray(o, i);
        }
        return i;
    }

    private static int tanhBack(float[] y, int oy, float[] g, int og, float[] o, int from, int to) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) {
            FloatVector v = load(y, oy + i);
            load(g, og + i).mul(one.sub(v.mul(v))).intoArray(o, i);
        }
        return i;
    }

    /** {@code g * sigmoid(beta x)}, or g past the threshold: exp(-beta x) into o first. */
    private static int softplusBack(float[] x, int ox, float[] g, int og, float[] o, int from, int to, float beta,
            float threshold) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int b = from; b < to; b += CACHE_BLOCK) {
            int e = Math.min(to, b + CACHE_BLOCK);
            expOfScaled(x, ox, -beta, o, b, e);
            int i = b;
            for (int u = upper(b, e); i < u; i += S.length()) {
                FloatVector s = one.div(load(o, i).add(1f));
                FloatVector z = load(x, ox + i).mul(beta);
                load(g, og + i).mul(s.blend(one, z.compare(VectorOperators.GT, threshold))).intoArray(o, i);
            }
            for (; i < e; i++) {
                float s = x[ox + i] * beta > threshold ? 1f : 1f / (o[i] + 1f);
                o[i] = g[og + i] * s;
            }
        }
        return to;
    }

    private static int clampBack(float[] x, int ox, float[] g, int og, float[] o, int from, int to, float lo, float hi) {
        FloatVector zero = FloatVector.zero(S);
        int i = from;
        for (int u = upper(from, to); i < u; i += S.length()) {
            FloatVector v = load(x, ox + i);
            var inside = v.compare(VectorOperators.GE, lo).and(v.compare(VectorOperators.LE, hi));
            zero.blend(load(g, og + i), inside).intoArray(o, i);
        }
        return i;
    }

    private static int powBack(float[] x, int ox, float[] g, int og, float[] o, int from, int to, float p) {
        int i = from;
        int u = upper(from, to);
        if (p == 2f) {
            for (; i < u; i += S.length()) load(g, og + i).mul(load(x, ox + i)).mul(2f).intoArray(o, i);
        } else if (p == 0f) {
            for (; i < u; i += S.length()) FloatVector.zero(S).intoArray(o, i);
        }
        return i; // other exponents by Math.pow, as the forward
    }
}
