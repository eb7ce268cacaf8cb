package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;

/**
 * Elementwise kernels. Each has a scalar reference (through {@code Storage.get/set}, so it also serves F64)
 * and a Vector API fast path for contiguous F32 data.
 */
public final class Elementwise {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int GRAIN = 1 << 15;

    private Elementwise() {}

    /** {@code dst += src}, same shapes; dst may be any view, src any view. Used to accumulate gradients. */
    public static void addInPlace(Tensor dst, Tensor src) {
        if (!dst.sameShape(src)) throw ShapeException.of("addInPlace", "shapes differ", dst.shape(), src.shape());
        if (fast(dst) && fast(src)) {
            float[] d = dst.floats();
            float[] s = src.floats();
            int od = dst.offset();
            int os = src.offset();
            Parallel.forRange(dst.numel(), GRAIN, (from, to) -> addInPlaceVector(d, od, s, os, from, to));
        } else {
            addInPlaceReference(dst, src);
        }
    }

    static void addInPlaceReference(Tensor dst, Tensor src) {
        var d = dst.storage();
        var s = src.storage();
        for (int i = 0; i < dst.numel(); i++) {
            int p = dst.storageIndex(i);
            d.set(p, d.get(p) + s.get(src.storageIndex(i)));
        }
    }

    private static void addInPlaceVector(float[] d, int od, float[] s, int os, int from, int to) {
        int i = from;
        for (int upper = from + S.loopBound(to - from); i < upper; i += S.length()) {
            FloatVector.fromArray(S, d, od + i).add(FloatVector.fromArray(S, s, os + i)).intoArray(d, od + i);
        }
        for (; i < to; i++) d[od + i] += s[os + i];
    }

    /** True when a tensor may take the float fast path: F32, contiguous, vector backend. */
    static boolean fast(Tensor t) {
        return Backend.vector() && t.dtype() == org.moe4j.tensor.DType.F32 && t.isContiguous();
    }
}
