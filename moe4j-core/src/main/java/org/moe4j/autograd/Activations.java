package org.moe4j.autograd;

import org.moe4j.kernel.Elementwise;
import org.moe4j.kernel.Elementwise.Fn;
import org.moe4j.tensor.Tensor;

/** Elementwise functions and activations. Each backward is {@code grad * f'(x)} from one fused kernel. */
public final class Activations {
    private Activations() {}

    public static Variable exp(Variable x) {
        return unary("exp", Fn.EXP, x);
    }

    /** Natural logarithm; log of a negative number is NaN, of zero -inf. */
    public static Variable log(Variable x) {
        return unary("log", Fn.LOG, x);
    }

    public static Variable sqrt(Variable x) {
        return unary("sqrt", Fn.SQRT, x);
    }

    /** {@code 1 / sqrt(x)}. */
    public static Variable rsqrt(Variable x) {
        return unary("rsqrt", Fn.RSQRT, x);
    }

    /** |x|; its gradient at 0 is 0. */
    public static Variable abs(Variable x) {
        return unary("abs", Fn.ABS, x);
    }

    /** Clamps into [min, max] (either may be infinite); the gradient flows where min <= x <= max. */
    public static Variable clamp(Variable x, double min, double max) {
        return unary("clamp", Fn.CLAMP, x, min, max);
    }

    /** {@code max(x, 0)}; its gradient at 0 is 0. */
    public static Variable relu(Variable x) {
        return unary("relu", Fn.RELU, x);
    }

    /** GELU with the exact normal CDF: {@code x * Phi(x)} (PyTorch's default, approximate='none'). */
    public static Variable gelu(Variable x) {
        return unary("gelu", Fn.GELU, x);
    }

    /** GELU's tanh approximation (PyTorch's approximate='tanh', GPT-2's "gelu_new"). */
    public static Variable geluTanh(Variable x) {
        return unary("geluTanh", Fn.GELU_TANH, x);
    }

    /** {@code x * sigmoid(x)}, also called swish. */
    public static Variable silu(Variable x) {
        return unary("silu", Fn.SILU, x);
    }

    public static Variable sigmoid(Variable x) {
        return unary("sigmoid", Fn.SIGMOID, x);
    }

    public static Variable tanh(Variable x) {
        return unary("tanh", Fn.TANH, x);
    }

    /** {@code log(1 + exp(x))}, computed stably; as PyTorch, x itself where x > 20. */
    public static Variable softplus(Variable x) {
        return softplus(x, 1, 20);
    }

    /** {@code log(1 + exp(beta x)) / beta}, and x itself where {@code beta x > threshold}. */
    public static Variable softplus(Variable x, double beta, double threshold) {
        return unary("softplus", Fn.SOFTPLUS, x, beta, threshold);
    }

    static Variable unary(String name, Fn fn, Variable x) {
        return unary(name, fn, x, fn.defaultP(), fn.defaultQ());
    }

    /** Runs {@code fn} forward and records {@code grad * f'(x)} as its backward. */
    static Variable unary(String name, Fn fn, Variable x, double p, double q) {
        Tensor in = x.value();
        Tensor out = Elementwise.map(fn, in, p, q);
        return Variable.result(name, out, g -> new Tensor[] {Elementwise.mapBackward(fn, in, out, g, p, q)}, x);
    }
}
