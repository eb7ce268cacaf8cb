package org.moe4j.autograd;

import org.moe4j.kernel.Elementwise;
import org.moe4j.kernel.Elementwise.Fn;
import org.moe4j.kernel.Reduce;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;

/** Sum, mean and max over axes, and argmax. Negative axes count from the end. */
public final class Reductions {
    private Reductions() {}

    /** Sum over {@code axes}; {@code keepDim} keeps them with size 1. No axes means nothing is reduced. */
    public static Variable sum(Variable x, int[] axes, boolean keepDim) {
        int[] in = x.shape();
        int[] kept = keptShape("sum", in, axes);
        Tensor out = Reduce.sum(x.value(), axes, keepDim);
        return Variable.result("sum", out, g -> new Tensor[] {g.reshape(kept).expand(in)}, x);
    }

    public static Variable sum(Variable x, int axis, boolean keepDim) {
        return sum(x, new int[] {axis}, keepDim);
    }

    /** Sum of all elements, as a rank-0 variable. */
    public static Variable sum(Variable x) {
        return sum(x, allAxes(x.rank()), false);
    }

    /** Mean over {@code axes}. */
    public static Variable mean(Variable x, int[] axes, boolean keepDim) {
        int[] in = x.shape();
        int[] kept = keptShape("mean", in, axes);
        double count = (double) Shapes.numel(in) / Math.max(1, Shapes.numel(kept));
        Tensor out = Reduce.mean(x.value(), axes, keepDim);
        return Variable.result("mean", out,
                g -> new Tensor[] {Elementwise.map(Fn.AFFINE, g.reshape(kept).expand(in), 1 / count, 0)}, x);
    }

    public static Variable mean(Variable x, int axis, boolean keepDim) {
        return mean(x, new int[] {axis}, keepDim);
    }

    /** Mean of all elements, as a rank-0 variable. */
    public static Variable mean(Variable x) {
        return mean(x, allAxes(x.rank()), false);
    }

    /** Max over {@code axes}; the gradient goes to the first maximum (lowest row-major position) only. */
    public static Variable max(Variable x, int[] axes, boolean keepDim) {
        int[] in = x.shape();
        int[] ax = axes.clone();
        Reduce.MaxResult r = Reduce.max(x.value(), ax, keepDim);
        int[] positions = r.positions();
        return Variable.result("max", r.values(), g -> new Tensor[] {Reduce.maxBackward(g, in, ax, positions)}, x);
    }

    public static Variable max(Variable x, int axis, boolean keepDim) {
        return max(x, new int[] {axis}, keepDim);
    }

    /** The index of the first maximum along {@code axis} (not differentiable). */
    public static IntTensor argmax(Variable x, int axis, boolean keepDim) {
        return Reduce.argmax(x.value(), axis, keepDim);
    }

    public static IntTensor argmax(Variable x, int axis) {
        return argmax(x, axis, false);
    }

    /** The input shape with the reduced axes set to 1 (validating the axes). */
    private static int[] keptShape(String op, int[] shape, int[] axes) {
        int[] kept = shape.clone();
        for (int a : axes) kept[Shapes.axis(op, a, shape.length)] = 1;
        return kept;
    }

    private static int[] allAxes(int rank) {
        int[] axes = new int[rank];
        for (int i = 0; i < rank; i++) axes[i] = i;
        return axes;
    }
}
