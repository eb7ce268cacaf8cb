package org.moe4j.kernel;

import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * The head layouts of attention in one pass each, instead of a permute followed by an element-by-element copy:
 * projections come out position-major [B, T, n, D], attention wants head-major [B, H, T, D] (contiguous), and its
 * output goes back to [B, T, H * D].
 *
 * <ul>
 *   <li>{@link #split}: [B, T, n, D] to [B, n * rep, T, D], optionally rotating each vector to its position
 *       ({@link RopeKernels}), and repeating key/value head g as heads {@code g * rep .. g * rep + rep - 1}
 *       (grouped-query attention).
 *   <li>{@link #splitBackward}: its adjoint, summing the rep copies in order and rotating back.
 *   <li>{@link #merge}: [B, H, T, D] to [B, T, H * D]; its adjoint is {@code split} without rotation.
 * </ul>
 * The fast path (F32, vector backend) copies whole head vectors; the references go through {@code
 * Storage.get/set} in double precision and serve F64.
 */
public final class HeadKernels {
    private static final String SPLIT = "splitHeads";
    private static final String MERGE = "mergeHeads";

    private HeadKernels() {}

    /** x [B, T, n, D] to [B, n * rep, T, D]; {@code rope} null for no rotation, else row t turns to start + t. */
    public static Tensor split(Tensor x, RopeKernels.Tables rope, int start, int rep) {
        int[] s = checkSplit(x.shape(), rope, start, rep, false);
        int b = s[0], t = s[1], n = s[2], d = s[3];
        if (!fast(x)) return splitReference(x, rope, start, rep);
        Tensor xc = x.contiguous();
        Tensor out = Tensor.zeros(b, n * rep, t, d);
        float[] src = xc.floats(), dst = out.floats();
        int xo = xc.offset();
        Parallel.forRange(b * t, grain(n * rep * d), (from, to) -> {
            for (int bt = from; bt < to; bt++) {
                int bi = bt / t, ti = bt % t;
                for (int g = 0; g < n; g++) {
                    int in = xo + (bt * n + g) * d;
                    int first = ((bi * n * rep + g * rep) * t + ti) * d;
                    if (rope != null) RopeKernels.rotateRow(src, in, dst, first, rope, start + ti, 1f);
                    else System.arraycopy(src, in, dst, first, d);
                    for (int r = 1; r < rep; r++) System.arraycopy(dst, first, dst, first + r * t * d, d);
                }
            }
        });
        return out;
    }

    /** The gradient of {@link #split}: grad [B, n * rep, T, D] to [B, T, n, D]. */
    public static Tensor splitBackward(Tensor grad, RopeKernels.Tables rope, int start, int rep) {
        int[] s = checkSplit(grad.shape(), rope, start, rep, true);
        int b = s[0], t = s[1], n = s[2], d = s[3];
        if (!fast(grad)) return splitBackwardReference(grad, rope, start, rep);
        Tensor gc = grad.contiguous();
        Tensor out = Tensor.zeros(b, t, n, d);
        float[] src = gc.floats(), dst = out.floats();
        int go = gc.offset();
        Parallel.forRange(b * t, grain(n * rep * d), (from, to) -> {
            for (int bt = from; bt < to; bt++) {
                int bi = bt / t, ti = bt % t;
                for (int g = 0; g < n; g++) {
                    int o = (bt * n + g) * d;
                    int first = go + ((bi * n * rep + g * rep) * t + ti) * d;
                    System.arraycopy(src, first, dst, o, d);
                    for (int r = 1; r < rep; r++) {
                        int in = first + r * t * d;
                        for (int c = 0; c < d; c++) dst[o + c] += src[in + c];
                    }
                    if (rope != null) RopeKernels.rotateRow(dst, o, dst, o, rope, start + ti, -1f);
                }
            }
        });
        return out;
    }

    /** y [B, H, T, D] to [B, T, H * D]. */
    public static Tensor merge(Tensor y) {
        int[] s = y.shape();
        if (s.length != 4) throw ShapeException.of(MERGE, "expects [B, H, T, D]", s);
        int b = s[0], h = s[1], t = s[2], d = s[3];
        if (!fast(y)) return mergeReference(y);
        Tensor yc = y.contiguous();
        Tensor out = Tensor.zeros(b, t, h * d);
        float[] src = yc.floats(), dst = out.floats();
        int yo = yc.offset();
        Parallel.forRange(b * t, grain(h * d), (from, to) -> {
            for (int bt = from; bt < to; bt++) {
                int bi = bt / t, ti = bt % t;
                for (int hi = 0; hi < h; hi++) {
                    System.arraycopy(src, yo + ((bi * h + hi) * t + ti) * d, dst, (bt * h + hi) * d, d);
                }
            }
        });
        return out;
    }

    static Tensor splitReference(Tensor x, RopeKernels.Tables rope, int start, int rep) {
        int[] s = checkSplit(x.shape(), rope, start, rep, false);
        int b = s[0], t = s[1], n = s[2], d = s[3];
        Tensor xc = x.contiguous();
        Tensor out = xc.newZeros(b, n * rep, t, d);
        Storage in = xc.storage(), os = out.storage();
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                for (int g = 0; g < n; g++) {
                    int src = xc.offset() + ((bi * t + ti) * n + g) * d;
                    for (int r = 0; r < rep; r++) {
                        int dst = ((bi * n * rep + g * rep + r) * t + ti) * d;
                        if (rope != null) {
                            RopeKernels.rotateRowReference(in, src, os, dst, rope, start + ti, 1);
                        } else {
                            for (int c = 0; c < d; c++) os.set(dst + c, in.get(src + c));
                        }
                    }
                }
            }
        }
        return out;
    }

    static Tensor splitBackwardReference(Tensor grad, RopeKernels.Tables rope, int start, int rep) {
        int[] s = checkSplit(grad.shape(), rope, start, rep, true);
        int b = s[0], t = s[1], n = s[2], d = s[3];
        Tensor gc = grad.contiguous();
        Tensor sum = gc.newZeros(b, t, n, d);
        Storage in = gc.storage(), ss = sum.storage();
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                for (int g = 0; g < n; g++) {
                    int dst = ((bi * t + ti) * n + g) * d;
                    for (int r = 0; r < rep; r++) {
                        int src = gc.offset() + ((bi * n * rep + g * rep + r) * t + ti) * d;
                        for (int c = 0; c < d; c++) ss.set(dst + c, ss.get(dst + c) + in.get(src + c));
                    }
                }
            }
        }
        if (rope == null) return sum;
        Tensor out = sum.newZeros(b, t, n, d);
        for (int row = 0; row < b * t * n; row++) {
            RopeKernels.rotateRowReference(ss, row * d, out.storage(), row * d, rope, start + (row / n) % t, -1);
        }
        return out;
    }

    static Tensor mergeReference(Tensor y) {
        int[] s = y.shape();
        int b = s[0], h = s[1], t = s[2], d = s[3];
        Tensor out = y.newZeros(b, t, h * d);
        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                for (int ti = 0; ti < t; ti++) {
                    for (int c = 0; c < d; c++) out.set(y.getDouble(bi, hi, ti, c), bi, ti, hi * d + c);
                }
            }
        }
        return out;
    }

    /**
     * Checks a split's input [B, T, n, D] (or, for the backward, its gradient [B, n * rep, T, D]) and returns
     * {B, T, n, D}.
     */
    private static int[] checkSplit(int[] s, RopeKernels.Tables rope, int start, int rep, boolean backward) {
        if (rep < 1) throw new ShapeException(SPLIT, "repeat must be >= 1, got " + rep);
        if (s.length != 4) {
            throw ShapeException.of(SPLIT, backward ? "gradient must be [B, n * repeat, T, D]" : "expects [B, T, n, D]", s);
        }
        int b = s[0], t = backward ? s[2] : s[1], d = s[3];
        int heads = backward ? s[1] : s[2] * rep;
        if (heads % rep != 0) throw ShapeException.of(SPLIT, "gradient heads are not a multiple of repeat " + rep, s);
        if (rope != null) {
            if (d != 2 * rope.half()) throw ShapeException.of(SPLIT, "head width must be " + 2 * rope.half() + " for the rotary tables", s);
            if (start < 0 || (long) start + t > rope.positions()) {
                throw ShapeException.of(SPLIT, "positions " + start + ".." + ((long) start + t - 1) + " exceed the "
                        + rope.positions() + " positions of the rotary tables", s);
            }
        }
        return new int[] {b, t, heads / rep, d};
    }

    private static boolean fast(Tensor t) {
        return Backend.vector() && t.dtype() == DType.F32;
    }

    /** Rows of (batch, position) per thread chunk: about 16K floats moved. */
    private static int grain(int floatsPerRow) {
        return Math.max(1, (1 << 14) / Math.max(1, floatsPerRow));
    }
}
