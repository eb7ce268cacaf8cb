package org.moe4j.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * Sums a gradient over the axes along which its input was broadcast, back to the input's shape: the backward
 * of {@code expand} and of broadcasting ops such as {@code where}. Runs on one thread, in row-major order, so
 * it is deterministic.
 */
public final class BroadcastSum {
    private static final VectorSpecies<Float> S = Backend.FLOATS;

    private BroadcastSum() {}

    /**
     * {@code g} summed down to {@code shape}, which must broadcast to g's shape. Returns {@code g} itself when the
     * shapes are already equal, else a fresh contiguous tensor of g's dtype.
     */
    public static Tensor sumTo(Tensor g, int[] shape) {
        int[] gShape = g.shape();
        check(gShape, shape);
        if (Arrays.equals(gShape, shape)) return g;
        Tensor out = g.newZeros(shape);
        int[] outStrides = RowWalk.broadcastStrides(shape, out.strides(), gShape);
        if (Backend.vector() && g.dtype() == DType.F32) {
            sumFloat(g, out, outStrides);
        } else {
            sumScalar(g, out, outStrides);
        }
        return out;
    }

    /** The scalar definition, for tests. */
    static Tensor sumToReference(Tensor g, int[] shape) {
        int[] gShape = g.shape();
        check(gShape, shape);
        Tensor out = g.newZeros(shape);
        sumScalar(g, out, RowWalk.broadcastStrides(shape, out.strides(), gShape));
        return out;
    }

    private static void check(int[] gShape, int[] shape) {
        boolean ok = shape.length <= gShape.length;
        for (int i = 0; ok && i < shape.length; i++) {
            int d = shape[i];
            int gd = gShape[i + gShape.length - shape.length];
            ok = d == gd || d == 1;
        }
        if (!ok) throw ShapeException.of("broadcastSum", "the target shape does not broadcast to the gradient", shape, gShape);
    }

    private static void sumScalar(Tensor g, Tensor out, int[] outStrides) {
        int[] shape = g.shape();
        Storage gs = g.storage();
        Storage os = out.storage();
        int n = RowWalk.rowLength(shape);
        int gStep = RowWalk.lastStride(g.strides());
        int oStep = RowWalk.lastStride(outStrides);
        RowWalk.walk(shape, new int[] {g.offset(), 0}, new int[][] {g.strides(), outStrides}, 0, RowWalk.rows(shape),
                off -> {
                    for (int j = 0; j < n; j++) {
                        int p = off[1] + j * oStep;
                        os.set(p, os.get(p) + gs.get(off[0] + j * gStep));
                    }
                });
    }

    private static void sumFloat(Tensor g, Tensor out, int[] outStrides) {
        int[] shape = g.shape();
        float[] ga = g.floats();
        float[] oa = out.floats();
        int n = RowWalk.rowLength(shape);
        int gStep = RowWalk.lastStride(g.strides());
        int oStep = RowWalk.lastStride(outStrides);
        RowWalk.walk(shape, new int[] {g.offset(), 0}, new int[][] {g.strides(), outStrides}, 0, RowWalk.rows(shape),
                off -> {
                    int go = off[0];
                    int oo = off[1];
                    if (gStep == 1 && oStep == 1) {
                        int j = 0;
                        for (int upper = S.loopBound(n); j < upper; j += S.length()) {
                            FloatVector.fromArray(S, oa, oo + j).add(FloatVector.fromArray(S, ga, go + j))
                                    .intoArray(oa, oo + j);
                        }
                        for (; j < n; j++) oa[oo + j] += ga[go + j];
                    } else if (oStep == 0) {
                        float s = 0;
                        for (int j = 0; j < n; j++) s += ga[go + j * gStep];
                        oa[oo] += s;
                    } else {
                        for (int j = 0; j < n; j++) oa[oo + j * oStep] += ga[go + j * gStep];
                    }
                });
    }
}
