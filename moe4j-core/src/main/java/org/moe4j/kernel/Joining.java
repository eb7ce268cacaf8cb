package org.moe4j.kernel;

import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;

/**
 * Joining tensors along an axis: {@code concat} (the parts agree on every other axis) and {@code stack} (equal
 * shapes, joined along a new axis). Splitting needs no kernel: the pieces are {@code narrow} views.
 */
public final class Joining {
    private static final int GRAIN = 1 << 15; // elements copied per task

    private Joining() {}

    /** The parts joined along {@code axis}; they share dtype and rank and agree on every other axis. */
    public static Tensor concat(int axis, Tensor... parts) {
        int a = checkConcat("concat", axis, parts);
        return Backend.vector() && parts[0].dtype() == DType.F32 ? concatFloat(a, parts) : concatScalar(a, parts);
    }

    /** The scalar definition, for tests. */
    static Tensor concatReference(int axis, Tensor... parts) {
        return concatScalar(checkConcat("concat", axis, parts), parts);
    }

    /** Equal-shaped parts joined along a new axis {@code axis} (in [0, rank], negative counts from the end). */
    public static Tensor stack(int axis, Tensor... parts) {
        if (parts.length == 0) throw new ShapeException("stack", "needs at least one tensor");
        int a = Shapes.axis("stack", axis, parts[0].rank() + 1);
        for (int i = 1; i < parts.length; i++) {
            if (!parts[i].sameShape(parts[0])) {
                throw ShapeException.of("stack", "part " + i + " differs in shape from part 0", parts[0].shape(),
                        parts[i].shape());
            }
        }
        Tensor[] expanded = new Tensor[parts.length];
        for (int i = 0; i < parts.length; i++) expanded[i] = parts[i].unsqueeze(a);
        checkConcat("stack", a, expanded);
        return Backend.vector() && parts[0].dtype() == DType.F32 ? concatFloat(a, expanded)
                : concatScalar(a, expanded);
    }

    private static int checkConcat(String op, int axis, Tensor[] parts) {
        if (parts.length == 0) throw new ShapeException(op, "needs at least one tensor");
        int[] first = parts[0].shape();
        if (first.length == 0) throw new ShapeException(op, "cannot join scalars along an axis; unsqueeze them first");
        int a = Shapes.axis(op, axis, first.length);
        long total = 0;
        for (int i = 0; i < parts.length; i++) {
            Tensor p = parts[i];
            if (p.dtype() != parts[0].dtype()) {
                throw new ShapeException(op, "part " + i + " is " + p.dtype() + " but part 0 is " + parts[0].dtype());
            }
            int[] s = p.shape();
            boolean ok = s.length == first.length;
            for (int d = 0; ok && d < s.length; d++) ok = d == a || s[d] == first[d];
            if (!ok) {
                throw ShapeException.of(op, "part " + i + " differs from part 0 on an axis other than " + a, first, s);
            }
            total += s[a];
        }
        if (total > Integer.MAX_VALUE) throw new ShapeException(op, "joined axis would exceed 2^31-1 elements");
        return a;
    }

    private static int[] joinedShape(int a, Tensor[] parts) {
        int[] shape = parts[0].shape();
        shape[a] = 0;
        for (Tensor p : parts) shape[a] += p.dim(a);
        return shape;
    }

    private static Tensor concatScalar(int a, Tensor[] parts) {
        Tensor out = parts[0].newZeros(joinedShape(a, parts));
        int start = 0;
        for (Tensor p : parts) {
            out.narrow(a, start, p.dim(a)).copyFrom(p);
            start += p.dim(a);
        }
        return out;
    }

    /** Each part is a stack of [outer] rows of {@code dim(a) * inner} floats, copied whole with arraycopy. */
    private static Tensor concatFloat(int a, Tensor[] parts) {
        int[] shape = joinedShape(a, parts);
        Tensor out = parts[0].newZeros(shape);
        float[] dst = out.floats();
        int outer = 1;
        for (int d = 0; d < a; d++) outer *= shape[d];
        int inner = 1;
        for (int d = a + 1; d < shape.length; d++) inner *= shape[d];
        int outRow = shape[a] * inner;
        int start = 0;
        for (Tensor part : parts) {
            Tensor p = part.contiguous();
            float[] src = p.floats();
            int so = p.offset();
            int row = p.dim(a) * inner;
            int dstStart = start * inner;
            if (row > 0) {
                Parallel.forRange(outer, Math.max(1, GRAIN / row), (from, to) -> {
                    for (int o = from; o < to; o++) System.arraycopy(src, so + o * row, dst, o * outRow + dstStart, row);
                });
            }
            start += p.dim(a);
        }
        return out;
    }
}
