package org.moe4j.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * Selection by a mask: {@code where(mask, a, b)} and {@code maskedFill(x, mask, value)}.
 *
 * <p>A mask is an {@link IntTensor} whose nonzero elements mean true; it broadcasts like any tensor, so a
 * {@code [T, T]} causal mask serves a {@code [B, H, T, T]} score tensor.
 */
public final class Masking {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    // Ints of the same bit width, so an int mask converts lane for lane to a float mask.
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final int GRAIN = 1 << 15; // elements per task

    private Masking() {}

    /** {@code mask ? a : b} elementwise, all three broadcast together; a and b share a dtype. */
    public static Tensor where(IntTensor mask, Tensor a, Tensor b) {
        int[] shape = checkWhere(mask, a, b);
        return select(shape, mask, a, b, false);
    }

    static Tensor whereReference(IntTensor mask, Tensor a, Tensor b) {
        return select(checkWhere(mask, a, b), mask, a, b, true);
    }

    /** {@code x} with {@code value} wherever the mask (which broadcasts to x's shape) is nonzero. */
    public static Tensor maskedFill(Tensor x, IntTensor mask, double value) {
        checkFill(x, mask);
        return select(x.shape(), mask, Tensor.full(x.dtype(), value), x, false);
    }

    static Tensor maskedFillReference(Tensor x, IntTensor mask, double value) {
        checkFill(x, mask);
        return select(x.shape(), mask, Tensor.full(x.dtype(), value), x, true);
    }

    private static int[] checkWhere(IntTensor mask, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) throw new ShapeException("where", "a is " + a.dtype() + " but b is " + b.dtype());
        return Shapes.broadcast("where", mask.shape(), Shapes.broadcast("where", a.shape(), b.shape()));
    }

    private static void checkFill(Tensor x, IntTensor mask) {
        if (!Arrays.equals(Shapes.broadcast("maskedFill", mask.shape(), x.shape()), x.shape())) {
            throw ShapeException.of("maskedFill", "the mask must broadcast to x's shape", mask.shape(), x.shape());
        }
    }

    private static Tensor select(int[] shape, IntTensor mask, Tensor a, Tensor b, boolean reference) {
        Tensor out = a.newZeros(shape);
        if (!reference && Backend.vector() && a.dtype() == DType.F32) {
            selectFloat(shape, mask, a, b, out);
        } else {
            selectScalar(shape, mask, a, b, out);
        }
        return out;
    }

    /** The definition: each output element's coordinates, mapped into each broadcast operand. */
    private static void selectScalar(int[] shape, IntTensor mask, Tensor a, Tensor b, Tensor out) {
        Tensor av = a.expand(shape);
        Tensor bv = b.expand(shape);
        int[] md = mask.data();
        int[] ms = RowWalk.broadcastStrides(mask.shape(), Shapes.contiguousStrides(mask.shape()), shape);
        Storage os = out.storage();
        for (int i = 0; i < out.numel(); i++) {
            int m = 0;
            for (int d = shape.length - 1, rem = i; d >= 0; d--) {
                m += (rem % shape[d]) * ms[d];
                rem /= shape[d];
            }
            Tensor from = md[m] != 0 ? av : bv;
            os.set(i, from.storage().get(from.storageIndex(i)));
        }
    }

    /** Row by row; rows where every operand is contiguous along the last axis take a vector blend. */
    private static void selectFloat(int[] shape, IntTensor mask, Tensor a, Tensor b, Tensor out) {
        int[] md = mask.data();
        float[] aa = a.floats();
        float[] ba = b.floats();
        float[] oa = out.floats();
        int[][] strides = {
            RowWalk.broadcastStrides(mask.shape(), Shapes.contiguousStrides(mask.shape()), shape),
            RowWalk.broadcastStrides(a.shape(), a.strides(), shape),
            RowWalk.broadcastStrides(b.shape(), b.strides(), shape),
            Shapes.contiguousStrides(shape)
        };
        int[] bases = {0, a.offset(), b.offset(), 0};
        int n = RowWalk.rowLength(shape);
        int ms = RowWalk.lastStride(strides[0]);
        int as = RowWalk.lastStride(strides[1]);
        int bs = RowWalk.lastStride(strides[2]);
        boolean vectorRows = ms == 1 && as == 1 && bs == 1;
        Parallel.forRange(RowWalk.rows(shape), Math.max(1, GRAIN / Math.max(1, n)), (from, to) ->
                RowWalk.walk(shape, bases, strides, from, to, off -> {
                    int mo = off[0];
                    int ao = off[1];
                    int bo = off[2];
                    int oo = off[3];
                    int j = 0;
                    if (vectorRows) {
                        for (int upper = S.loopBound(n); j < upper; j += S.length()) {
                            VectorMask<Float> m = IntVector.fromArray(I, md, mo + j)
                                    .compare(VectorOperators.NE, 0).cast(S);
                            FloatVector.fromArray(S, ba, bo + j).blend(FloatVector.fromArray(S, aa, ao + j), m)
                                    .intoArray(oa, oo + j);
                        }
                    }
                    for (; j < n; j++) oa[oo + j] = md[mo + j * ms] != 0 ? aa[ao + j * as] : ba[bo + j * bs];
                }));
    }
}
