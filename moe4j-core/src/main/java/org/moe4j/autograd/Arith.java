package org.moe4j.autograd;

import org.moe4j.kernel.Elementwise;
import org.moe4j.kernel.Elementwise.Fn;
import org.moe4j.kernel.Reduce;
import org.moe4j.tensor.Tensor;

/**
 * Arithmetic ops with NumPy broadcasting. The backward of a broadcast operand sums the gradient back to that
 * operand's shape ({@link Reduce#sumToShape}).
 */
public final class Arith {
    private Arith() {}

    /** {@code a + b}, broadcasting. */
    public static Variable add(Variable a, Variable b) {
        Tensor out = Elementwise.add(a.value(), b.value());
        int[] sa = a.shape();
        int[] sb = b.shape();
        return Variable.result("add", out, g -> new Tensor[] {
            a.requiresGrad() ? Reduce.sumToShape(g, sa) : null,
            b.requiresGrad() ? Reduce.sumToShape(g, sb) : null}, a, b);
    }

    /** {@code a - b}, broadcasting. */
    public static Variable sub(Variable a, Variable b) {
        Tensor out = Elementwise.sub(a.value(), b.value());
        int[] sa = a.shape();
        int[] sb = b.shape();
        return Variable.result("sub", out, g -> new Tensor[] {
            a.requiresGrad() ? Reduce.sumToShape(g, sa) : null,
            b.requiresGrad() ? negate(Reduce.sumToShape(g, sb)) : null}, a, b);
    }

    /** {@code a * b}, broadcasting. */
    public static Variable mul(Variable a, Variable b) {
        Tensor av = a.value();
        Tensor bv = b.value();
        Tensor out = Elementwise.mul(av, bv);
        return Variable.result("mul", out, g -> new Tensor[] {
            a.requiresGrad() ? Reduce.sumToShape(Elementwise.mul(g, bv), av.shape()) : null,
            b.requiresGrad() ? Reduce.sumToShape(Elementwise.mul(g, av), bv.shape()) : null}, a, b);
    }

    /** {@code a / b}, broadcasting. */
    public static Variable div(Variable a, Variable b) {
        Tensor av = a.value();
        Tensor bv = b.value();
        Tensor out = Elementwise.div(av, bv);
        return Variable.result("div", out, g -> {
            Tensor gOverB = Elementwise.div(g, bv);
            return new Tensor[] {
                a.requiresGrad() ? Reduce.sumToShape(gOverB, av.shape()) : null,
                // d(a/b)/db = -a/b^2 = -(a/b)/b, so the gradient is -(g/b) * out
                b.requiresGrad() ? negate(Reduce.sumToShape(Elementwise.mul(gOverB, out), bv.shape())) : null};
        }, a, b);
    }

    /** {@code -x}. */
    public static Variable neg(Variable x) {
        return affine("neg", x, -1, 0);
    }

    /** {@code x + s}. */
    public static Variable addScalar(Variable x, double s) {
        return affine("addScalar", x, 1, s);
    }

    /** {@code x - s}. */
    public static Variable subScalar(Variable x, double s) {
        return affine("subScalar", x, 1, -s);
    }

    /** {@code s - x}. */
    public static Variable rsubScalar(Variable x, double s) {
        return affine("rsubScalar", x, -1, s);
    }

    /** {@code x * s}. */
    public static Variable mulScalar(Variable x, double s) {
        return affine("mulScalar", x, s, 0);
    }

    /** {@code x / s}. */
    public static Variable divScalar(Variable x, double s) {
        return affine("divScalar", x, 1 / s, 0);
    }

    /** {@code scale * x + shift} in one pass. */
    public static Variable affine(Variable x, double scale, double shift) {
        return affine("affine", x, scale, shift);
    }

    /** {@code x ^ exponent}; negative x with a non-integer exponent gives NaN. */
    public static Variable pow(Variable x, double exponent) {
        return Activations.unary("pow", Fn.POW, x, exponent, 0);
    }

    private static Variable affine(String name, Variable x, double scale, double shift) {
        Tensor out = Elementwise.map(Fn.AFFINE, x.value(), scale, shift);
        return Variable.result(name, out, g -> new Tensor[] {Elementwise.map(Fn.AFFINE, g, scale, 0)}, x);
    }

    private static Tensor negate(Tensor t) {
        return Elementwise.map(Fn.AFFINE, t, -1, 0);
    }
}
