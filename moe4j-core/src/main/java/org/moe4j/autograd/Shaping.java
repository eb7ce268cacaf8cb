package org.moe4j.autograd;

import java.util.Arrays;
import org.moe4j.common.ShapeException;
import org.moe4j.kernel.Reduce;
import org.moe4j.kernel.Joining;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;

/**
 * Shape ops: the forward value is a view of the input wherever the tensor allows one (reshape of a contiguous
 * tensor, permute, narrow, slice, expand, squeeze, unsqueeze), and the backward maps the gradient back to the
 * input's shape: the inverse view, a zero tensor with the gradient written into the viewed region, or a sum
 * over broadcast axes.
 */
public final class Shaping {
    private Shaping() {}

    /** The same elements in a new shape (one dimension may be -1); a view when x is contiguous. */
    public static Variable reshape(Variable x, int... shape) {
        int[] xShape = x.shape();
        return Variable.result("reshape", x.value().reshape(shape), g -> new Tensor[] {g.reshape(xShape)}, x);
    }

    /** Axes {@code start..end} (inclusive, negative counting from the end) merged into one. */
    public static Variable flatten(Variable x, int startAxis, int endAxis) {
        int[] s = x.shape();
        if (s.length == 0) return reshape(x, 1);
        int a = Shapes.axis("flatten", startAxis, s.length);
        int b = Shapes.axis("flatten", endAxis, s.length);
        if (a > b) throw ShapeException.of("flatten", "start axis " + a + " is after end axis " + b, s);
        int[] out = new int[s.length - (b - a)];
        for (int i = 0; i < a; i++) out[i] = s[i];
        out[a] = 1;
        for (int i = a; i <= b; i++) out[a] *= s[i];
        for (int i = b + 1; i < s.length; i++) out[i - (b - a)] = s[i];
        return Variable.result("flatten", x.value().reshape(out), g -> new Tensor[] {g.reshape(s)}, x);
    }

    /** All elements as one axis. */
    public static Variable flatten(Variable x) {
        return flatten(x, 0, -1);
    }

    /** Axis i of the result is axis {@code axes[i]} of x. */
    public static Variable permute(Variable x, int... axes) {
        Tensor y = x.value().permute(axes);
        int[] inverse = new int[axes.length];
        for (int i = 0; i < axes.length; i++) inverse[Shapes.axis("permute", axes[i], axes.length)] = i;
        return Variable.result("permute", y, g -> new Tensor[] {g.permute(inverse)}, x);
    }

    public static Variable transpose(Variable x, int axisA, int axisB) {
        return Variable.result("transpose", x.value().transpose(axisA, axisB),
                g -> new Tensor[] {g.transpose(axisA, axisB)}, x);
    }

    /** Elements {@code start .. start+length-1} along one axis (a view). */
    public static Variable narrow(Variable x, int axis, int start, int length) {
        int[] xShape = x.shape();
        return Variable.result("narrow", x.value().narrow(axis, start, length), g -> {
            Tensor gx = g.newZeros(xShape);
            gx.narrow(axis, start, length).copyFrom(g);
            return new Tensor[] {gx};
        }, x);
    }

    /** Every {@code step}-th element from {@code start} below {@code end} along one axis (a view). */
    public static Variable slice(Variable x, int axis, int start, int end, int step) {
        int[] xShape = x.shape();
        return Variable.result("slice", x.value().slice(axis, start, end, step), g -> {
            Tensor gx = g.newZeros(xShape);
            gx.slice(axis, start, end, step).copyFrom(g);
            return new Tensor[] {gx};
        }, x);
    }

    /** Broadcasts x to a larger shape (a view with zero strides); the backward sums over the repeated axes. */
    public static Variable expand(Variable x, int... shape) {
        int[] xShape = x.shape();
        return Variable.result("expand", x.value().expand(shape), g -> new Tensor[] {Reduce.sumToShape(g, xShape)},
                x);
    }

    /** Removes an axis of size 1. */
    public static Variable squeeze(Variable x, int axis) {
        int a = Shapes.axis("squeeze", axis, x.rank());
        return Variable.result("squeeze", x.value().squeeze(a), g -> new Tensor[] {g.unsqueeze(a)}, x);
    }

    /** Inserts an axis of size 1 at {@code axis} (in [0, rank]). */
    public static Variable unsqueeze(Variable x, int axis) {
        int a = Shapes.axis("unsqueeze", axis, x.rank() + 1);
        return Variable.result("unsqueeze", x.value().unsqueeze(a), g -> new Tensor[] {g.squeeze(a)}, x);
    }

    /** x itself when contiguous, else a contiguous copy; the gradient passes through unchanged. */
    public static Variable contiguous(Variable x) {
        if (x.value().isContiguous()) return x;
        return Variable.result("contiguous", x.value().contiguous(), g -> new Tensor[] {g}, x);
    }

    /** The parts joined along {@code axis}; each part's gradient is its slice of the output gradient. */
    public static Variable concat(int axis, Variable... parts) {
        Tensor[] values = values("concat", parts);
        Tensor y = Joining.concat(axis, values);
        int a = Shapes.axis("concat", axis, y.rank());
        int[] sizes = Arrays.stream(values).mapToInt(t -> t.dim(a)).toArray();
        return Variable.result("concat", y, g -> {
            Tensor[] grads = new Tensor[sizes.length];
            for (int i = 0, start = 0; i < sizes.length; start += sizes[i++]) grads[i] = g.narrow(a, start, sizes[i]);
            return grads;
        }, parts);
    }

    /** Equal-shaped parts joined along a new axis {@code axis} (in [0, rank]). */
    public static Variable stack(int axis, Variable... parts) {
        Tensor y = Joining.stack(axis, values("stack", parts));
        int a = Shapes.axis("stack", axis, y.rank());
        return Variable.result("stack", y, g -> {
            Tensor[] grads = new Tensor[parts.length];
            for (int i = 0; i < grads.length; i++) grads[i] = g.narrow(a, i, 1).squeeze(a);
            return grads;
        }, parts);
    }

    /** Consecutive pieces of x along {@code axis} with the given sizes, which must add up to the axis size. */
    public static Variable[] split(Variable x, int axis, int... sizes) {
        int[] xShape = x.shape();
        if (xShape.length == 0) throw ShapeException.of("split", "cannot split a scalar", xShape);
        int a = Shapes.axis("split", axis, xShape.length);
        long total = 0;
        for (int s : sizes) {
            if (s < 0) throw ShapeException.of("split", "negative size in " + Arrays.toString(sizes), xShape);
            total += s;
        }
        if (total != xShape[a]) {
            throw ShapeException.of("split", "sizes " + Arrays.toString(sizes) + " add up to " + total
                    + ", not the size " + xShape[a] + " of axis " + a, xShape);
        }
        Variable[] pieces = new Variable[sizes.length];
        for (int i = 0, start = 0; i < sizes.length; start += sizes[i++]) {
            int from = start;
            int len = sizes[i];
            pieces[i] = Variable.result("split", x.value().narrow(a, from, len), g -> {
                Tensor gx = g.newZeros(xShape);
                gx.narrow(a, from, len).copyFrom(g);
                return new Tensor[] {gx};
            }, x);
        }
        return pieces;
    }

    private static Tensor[] values(String op, Variable[] parts) {
        if (parts.length == 0) throw new ShapeException(op, "needs at least one tensor");
        return Arrays.stream(parts).map(Variable::value).toArray(Tensor[]::new);
    }
}
