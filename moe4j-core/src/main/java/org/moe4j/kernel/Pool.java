package org.moe4j.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * 2-d max and average pooling over NCHW tensors with PyTorch's defaults: floor output sizes (no ceil mode),
 * dilation 1, padding at most half the kernel (so every window holds at least one input element).
 *
 * <ul>
 *   <li>Max pooling treats padding as -infinity; its backward routes each output gradient to the element that won
 *       the window, the first maximum in row-major window order on ties (a NaN wins, so NaN propagates).
 *   <li>Average pooling counts padding as zeros and always divides by {@code kernelH * kernelW}
 *       ({@code count_include_pad = true}, PyTorch's default), so windows over the border are pulled toward 0.
 * </ul>
 *
 * <p>The fast path (F32, vector backend) works on the raw arrays, parallel over the N*C planes; the common 2x2
 * stride-2 max pool splits rows into even and odd columns to compare whole vectors of windows, other windows
 * run a scalar loop. The references go through {@code Storage.get/set} and serve F64.
 */
public final class Pool {
    static final String MAX = "maxPool2d";
    static final String AVG = "avgPool2d";
    /** Window elements visited below which a chunk of planes is not worth a thread. */
    private static final long GRAIN_WORK = 1 << 15;

    private Pool() {}

    /** Max pooling output [N, C, OH, OW] and, per output, the winning input's index {@code ih * W + iw} in its plane. */
    public record MaxPoolResult(Tensor out, IntTensor indices) {}

    /** The sizes of one pooling call, validated once. */
    record Window(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow) {
        int planes() {
            return n * c;
        }

        int[] inShape() {
            return new int[] {n, c, h, w};
        }

        int[] outShape() {
            return new int[] {n, c, oh, ow};
        }

        int grain() {
            long perPlane = Math.max(1L, (long) oh * ow * kh * kw);
            return (int) Math.max(1, Math.min(Integer.MAX_VALUE, GRAIN_WORK / perPlane));
        }
    }

    static Window window(String op, int[] x, int kh, int kw, int sh, int sw, int ph, int pw) {
        if (x.length != 4) throw ShapeException.of(op, "input must be [N, C, H, W]", x);
        if (x[2] < 1 || x[3] < 1) throw ShapeException.of(op, "input height and width must be positive", x);
        int oh = Conv.windowAxis(op, "height", x[2], kh, sh, ph, x);
        int ow = Conv.windowAxis(op, "width", x[3], kw, sw, pw, x);
        if (ph > kh / 2 || pw > kw / 2) {
            throw ShapeException.of(op, "padding " + ph + "x" + pw + " must be at most half the kernel " + kh + "x" + kw, x);
        }
        return new Window(x[0], x[1], x[2], x[3], kh, kw, sh, sw, ph, pw, oh, ow);
    }

    private static boolean fast(Tensor t) {
        return Backend.vector() && t.dtype() == DType.F32;
    }

    // ---- max -------------------------------------------------------------------------------------------------

    /** Max pooling of x [N, C, H, W]; see the class comment for padding and ties. */
    public static MaxPoolResult maxPool2d(Tensor x, int kernelH, int kernelW, int strideH, int strideW,
            int padH, int padW) {
        Window g = window(MAX, x.shape(), kernelH, kernelW, strideH, strideW, padH, padW);
        return fast(x) ? maxVector(x.contiguous(), g) : maxReference(x, g);
    }

    static MaxPoolResult maxPool2dReference(Tensor x, int kernelH, int kernelW, int strideH, int strideW,
            int padH, int padW) {
        return maxReference(x, window(MAX, x.shape(), kernelH, kernelW, strideH, strideW, padH, padW));
    }

    private static MaxPoolResult maxReference(Tensor x, Window g) {
        Tensor out = x.newZeros(g.outShape());
        int[] idx = new int[out.numel()];
        Storage xs = x.storage();
        int[] xt = x.strides();
        for (int n = 0; n < g.n; n++) {
            for (int c = 0; c < g.c; c++) {
                for (int y = 0; y < g.oh; y++) {
                    for (int z = 0; z < g.ow; z++) {
                        double best = Double.NEGATIVE_INFINITY;
                        int arg = -1;
                        for (int i = 0; i < g.kh; i++) {
                            int ih = y * g.sh - g.ph + i;
                            if (ih < 0 || ih >= g.h) continue;
                            for (int j = 0; j < g.kw; j++) {
                                int iw = z * g.sw - g.pw + j;
                                if (iw < 0 || iw >= g.w) continue;
                                double v = xs.get(x.offset() + n * xt[0] + c * xt[1] + ih * xt[2] + iw * xt[3]);
                                if (arg < 0 || v > best || (Double.isNaN(v) && !Double.isNaN(best))) {
                                    best = v;
                                    arg = ih * g.w + iw;
                                }
                            }
                        }
                        int o = ((n * g.c + c) * g.oh + y) * g.ow + z;
                        out.storage().set(o, best);
                        idx[o] = arg;
                    }
                }
            }
        }
        return new MaxPoolResult(out, new IntTensor(idx, g.outShape()));
    }

    private static MaxPoolResult maxVector(Tensor x, Window g) {
        if (g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0) return max2x2(x, g);
        float[] xa = x.floats();
        int xo = x.offset();
        Tensor out = Tensor.zeros(g.outShape());
        float[] oa = out.floats();
        int[] idx = new int[oa.length];
        int hw = g.h * g.w;
        int ohw = g.oh * g.ow;
        Parallel.forRange(g.planes(), g.grain(), (from, to) -> {
            for (int p = from; p < to; p++) {
                int base = xo + p * hw;
                for (int y = 0; y < g.oh; y++) {
                    int i0 = Math.max(0, g.ph - y * g.sh);
                    int i1 = Math.min(g.kh, g.h + g.ph - y * g.sh);
                    for (int z = 0; z < g.ow; z++) {
                        int j0 = Math.max(0, g.pw - z * g.sw);
                        int j1 = Math.min(g.kw, g.w + g.pw - z * g.sw);
                        float best = Float.NEGATIVE_INFINITY;
                        int arg = -1;
                        for (int i = i0; i < i1; i++) {
                            int rowStart = (y * g.sh - g.ph + i) * g.w + z * g.sw - g.pw;
                            for (int j = j0; j < j1; j++) {
                                float v = xa[base + rowStart + j];
                                if (arg < 0 || v > best || (v != v && best == best)) {
                                    best = v;
                                    arg = rowStart + j;
                                }
                            }
                        }
                        int o = p * ohw + y * g.ow + z;
                        oa[o] = best;
                        idx[o] = arg;
                    }
                }
            }
        });
        return new MaxPoolResult(out, new IntTensor(idx, g.outShape()));
    }

    /** Lanes 0, 2, 4, ... of a pair of vectors (the second's lanes as indices VLENGTH and up): the even elements. */
    private static final VectorShuffle<Float> EVENS = pairShuffle(0);
    /** Lanes 1, 3, 5, ...: the odd elements. */
    private static final VectorShuffle<Float> ODDS = pairShuffle(1);
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, Backend.FLOATS.vectorShape());

    private static VectorShuffle<Float> pairShuffle(int first) {
        int[] lanes = new int[Backend.FLOATS.length()];
        for (int i = 0; i < lanes.length; i++) lanes[i] = first + 2 * i;
        return VectorShuffle.fromArray(Backend.FLOATS, lanes, 0);
    }

    /**
     * The common 2x2, stride 2, unpadded window (every CNN's downsampling), vectorized: per output row, each of the
     * two input rows is split into even and odd columns, the pairs are compared, then the two rows. The scalar
     * loop's data-dependent branches mispredict on real activations and cost several times more. Same winner
     * rule as {@link #maxReference}: the first maximum in window order (a, b / c, d), a NaN beating any number.
     * Comparing a with b and c with d first keeps that rule, since both of the second pair come after the first.
     */
    private static MaxPoolResult max2x2(Tensor x, Window g) {
        float[] xa = x.floats();
        int xo = x.offset();
        Tensor out = Tensor.zeros(g.outShape());
        float[] oa = out.floats();
        int[] idx = new int[oa.length];
        int w = g.w;
        int hw = g.h * w;
        int ow = g.ow;
        int ohw = g.oh * ow;
        Parallel.forRange(g.planes(), g.grain(), (from, to) -> {
            VectorSpecies<Float> species = Backend.FLOATS; // read inside the lambda, so the JIT sees a constant
            int lanes = species.length();
            for (int p = from; p < to; p++) {
                for (int y = 0; y < g.oh; y++) {
                    int top = xo + p * hw + 2 * y * w; // first element of the window's upper row
                    for (int z0 = 0; z0 < ow; z0 += lanes) {
                        int in0 = top + 2 * z0;
                        int in1 = in0 + w;
                        int valid = w - 2 * z0; // input columns left in the row from 2 * z0
                        VectorMask<Float> loMask = species.indexInRange(0, valid);
                        VectorMask<Float> hiMask = species.indexInRange(lanes, valid);
                        FloatVector lo0 = FloatVector.fromArray(species, xa, in0, loMask);
                        FloatVector hi0 = FloatVector.fromArray(species, xa, in0 + lanes, hiMask);
                        FloatVector lo1 = FloatVector.fromArray(species, xa, in1, loMask);
                        FloatVector hi1 = FloatVector.fromArray(species, xa, in1 + lanes, hiMask);
                        FloatVector a = lo0.rearrange(EVENS, hi0);
                        FloatVector b = lo0.rearrange(ODDS, hi0);
                        FloatVector c = lo1.rearrange(EVENS, hi1);
                        FloatVector d = lo1.rearrange(ODDS, hi1);
                        // b beats a when greater, or NaN over a number; likewise d over c.
                        VectorMask<Float> bWins = b.compare(VectorOperators.GT, a)
                                .or(b.test(VectorOperators.IS_NAN).andNot(a.test(VectorOperators.IS_NAN)));
                        VectorMask<Float> dWins = d.compare(VectorOperators.GT, c)
                                .or(d.test(VectorOperators.IS_NAN).andNot(c.test(VectorOperators.IS_NAN)));
                        FloatVector upper = a.blend(b, bWins);
                        FloatVector lower = c.blend(d, dWins);
                        VectorMask<Float> lowerWins = lower.compare(VectorOperators.GT, upper)
                                .or(lower.test(VectorOperators.IS_NAN).andNot(upper.test(VectorOperators.IS_NAN)));
                        FloatVector best = upper.blend(lower, lowerWins);
                        // Winner's index in the plane: (2y + dy) * w + 2z + dx.
                        IntVector first = IntVector.broadcast(INTS, 2 * y * w + 2 * z0).addIndex(2);
                        IntVector up = first.blend(first.add(1), bWins.cast(INTS));
                        IntVector down = first.add(w).blend(first.add(w + 1), dWins.cast(INTS));
                        IntVector arg = up.blend(down, lowerWins.cast(INTS));
                        int o = p * ohw + y * ow + z0;
                        VectorMask<Float> store = species.indexInRange(z0, ow);
                        best.intoArray(oa, o, store);
                        arg.intoArray(idx, o, store.cast(INTS));
                    }
                }
            }
        });
        return new MaxPoolResult(out, new IntTensor(idx, g.outShape()));
    }

    /** The gradient of max pooling with respect to x (shape inputShape): each output gradient goes to its winner. */
    public static Tensor maxPool2dBackward(Tensor gradOut, IntTensor indices, int[] inputShape) {
        checkMaxBackward(gradOut, indices, inputShape);
        if (fast(gradOut)) {
            Tensor gc = gradOut.contiguous();
            float[] ga = gc.floats();
            int go = gc.offset();
            Tensor gx = Tensor.zeros(inputShape);
            float[] xa = gx.floats();
            int[] idx = indices.data();
            int hw = inputShape[2] * inputShape[3];
            int ohw = gradOut.dim(2) * gradOut.dim(3);
            // Planes are disjoint, and within a plane outputs are visited in order: deterministic sums.
            Parallel.forRange(inputShape[0] * inputShape[1], Math.max(1, (int) (GRAIN_WORK / Math.max(1, ohw))),
                    (from, to) -> {
                        for (int p = from; p < to; p++) {
                            for (int o = p * ohw, end = o + ohw; o < end; o++) xa[p * hw + idx[o]] += ga[go + o];
                        }
                    });
            return gx;
        }
        return maxPool2dBackwardReference(gradOut, indices, inputShape);
    }

    static Tensor maxPool2dBackwardReference(Tensor gradOut, IntTensor indices, int[] inputShape) {
        checkMaxBackward(gradOut, indices, inputShape);
        Tensor gx = gradOut.newZeros(inputShape);
        Storage gs = gx.storage();
        int hw = inputShape[2] * inputShape[3];
        int ohw = gradOut.dim(2) * gradOut.dim(3);
        int[] idx = indices.data();
        for (int o = 0; o < gradOut.numel(); o++) {
            int p = (o / ohw) * hw + idx[o];
            gs.set(p, gs.get(p) + gradOut.storage().get(gradOut.storageIndex(o)));
        }
        return gx;
    }

    private static void checkMaxBackward(Tensor gradOut, IntTensor indices, int[] inputShape) {
        if (inputShape.length != 4 || gradOut.rank() != 4 || !Arrays.equals(gradOut.shape(), indices.shape())
                || gradOut.dim(0) != inputShape[0] || gradOut.dim(1) != inputShape[1]) {
            throw ShapeException.of(MAX, "gradient, indices and input do not match (gradient, indices, input)",
                    gradOut.shape(), indices.shape(), inputShape);
        }
    }

    // ---- average ---------------------------------------------------------------------------------------------

    /** Average pooling of x [N, C, H, W], padding counted as zeros in a divisor of kernelH * kernelW. */
    public static Tensor avgPool2d(Tensor x, int kernelH, int kernelW, int strideH, int strideW, int padH, int padW) {
        Window g = window(AVG, x.shape(), kernelH, kernelW, strideH, strideW, padH, padW);
        return fast(x) ? avgVector(x.contiguous(), g) : avgReference(x, g);
    }

    static Tensor avgPool2dReference(Tensor x, int kernelH, int kernelW, int strideH, int strideW, int padH, int padW) {
        return avgReference(x, window(AVG, x.shape(), kernelH, kernelW, strideH, strideW, padH, padW));
    }

    private static Tensor avgReference(Tensor x, Window g) {
        Tensor out = x.newZeros(g.outShape());
        Storage xs = x.storage();
        int[] xt = x.strides();
        double area = (double) g.kh * g.kw;
        for (int n = 0; n < g.n; n++) {
            for (int c = 0; c < g.c; c++) {
                for (int y = 0; y < g.oh; y++) {
                    for (int z = 0; z < g.ow; z++) {
                        double sum = 0;
                        for (int i = 0; i < g.kh; i++) {
                            int ih = y * g.sh - g.ph + i;
                            if (ih < 0 || ih >= g.h) continue;
                            for (int j = 0; j < g.kw; j++) {
                                int iw = z * g.sw - g.pw + j;
                                if (iw < 0 || iw >= g.w) continue;
                                sum += xs.get(x.offset() + n * xt[0] + c * xt[1] + ih * xt[2] + iw * xt[3]);
                            }
                        }
                        out.storage().set(((n * g.c + c) * g.oh + y) * g.ow + z, sum / area);
                    }
                }
            }
        }
        return out;
    }

    private static Tensor avgVector(Tensor x, Window g) {
        float[] xa = x.floats();
        int xo = x.offset();
        Tensor out = Tensor.zeros(g.outShape());
        float[] oa = out.floats();
        int hw = g.h * g.w;
        int ohw = g.oh * g.ow;
        float area = (float) g.kh * g.kw;
        Parallel.forRange(g.planes(), g.grain(), (from, to) -> {
            for (int p = from; p < to; p++) {
                int base = xo + p * hw;
                for (int y = 0; y < g.oh; y++) {
                    int i0 = Math.max(0, g.ph - y * g.sh);
                    int i1 = Math.min(g.kh, g.h + g.ph - y * g.sh);
                    for (int z = 0; z < g.ow; z++) {
                        int j0 = Math.max(0, g.pw - z * g.sw);
                        int j1 = Math.min(g.kw, g.w + g.pw - z * g.sw);
                        float sum = 0;
                        for (int i = i0; i < i1; i++) {
                            int rowStart = base + (y * g.sh - g.ph + i) * g.w + z * g.sw - g.pw;
                            for (int j = j0; j < j1; j++) sum += xa[rowStart + j];
                        }
                        oa[p * ohw + y * g.ow + z] = sum / area;
                    }
                }
            }
        });
        return out;
    }

    /** The gradient of average pooling with respect to x [N, C, H, W], given gradOut [N, C, OH, OW]. */
    public static Tensor avgPool2dBackward(Tensor gradOut, int[] inputShape, int kernelH, int kernelW,
            int strideH, int strideW, int padH, int padW) {
        Window g = avgBackwardWindow(gradOut, inputShape, kernelH, kernelW, strideH, strideW, padH, padW);
        return fast(gradOut) ? avgBackwardVector(gradOut.contiguous(), g) : avgBackwardReference(gradOut, g);
    }

    static Tensor avgPool2dBackwardReference(Tensor gradOut, int[] inputShape, int kernelH, int kernelW,
            int strideH, int strideW, int padH, int padW) {
        return avgBackwardReference(gradOut,
                avgBackwardWindow(gradOut, inputShape, kernelH, kernelW, strideH, strideW, padH, padW));
    }

    private static Window avgBackwardWindow(Tensor gradOut, int[] inputShape, int kh, int kw, int sh, int sw,
            int ph, int pw) {
        Window g = window(AVG, inputShape, kh, kw, sh, sw, ph, pw);
        if (!Arrays.equals(gradOut.shape(), g.outShape())) {
            throw ShapeException.of(AVG, "gradient of the output must be " + Arrays.toString(g.outShape())
                    + " (gradient, input)", gradOut.shape(), inputShape);
        }
        return g;
    }

    private static Tensor avgBackwardReference(Tensor gradOut, Window g) {
        Tensor gx = gradOut.newZeros(g.inShape());
        Storage gs = gx.storage();
        double area = (double) g.kh * g.kw;
        for (int n = 0; n < g.n; n++) {
            for (int c = 0; c < g.c; c++) {
                for (int y = 0; y < g.oh; y++) {
                    for (int z = 0; z < g.ow; z++) {
                        double share = gradOut.getDouble(n, c, y, z) / area;
                        for (int i = 0; i < g.kh; i++) {
                            int ih = y * g.sh - g.ph + i;
                            if (ih < 0 || ih >= g.h) continue;
                            for (int j = 0; j < g.kw; j++) {
                                int iw = z * g.sw - g.pw + j;
                                if (iw < 0 || iw >= g.w) continue;
                                int p = ((n * g.c + c) * g.h + ih) * g.w + iw;
                                gs.set(p, gs.get(p) + share);
                            }
                        }
                    }
                }
            }
        }
        return gx;
    }

    private static Tensor avgBackwardVector(Tensor gradOut, Window g) {
        float[] ga = gradOut.floats();
        int go = gradOut.offset();
        Tensor gx = Tensor.zeros(g.inShape());
        float[] xa = gx.floats();
        int hw = g.h * g.w;
        int ohw = g.oh * g.ow;
        float area = (float) g.kh * g.kw;
        Parallel.forRange(g.planes(), g.grain(), (from, to) -> {
            for (int p = from; p < to; p++) {
                for (int y = 0; y < g.oh; y++) {
                    int i0 = Math.max(0, g.ph - y * g.sh);
                    int i1 = Math.min(g.kh, g.h + g.ph - y * g.sh);
                    for (int z = 0; z < g.ow; z++) {
                        int j0 = Math.max(0, g.pw - z * g.sw);
                        int j1 = Math.min(g.kw, g.w + g.pw - z * g.sw);
                        float share = ga[go + p * ohw + y * g.ow + z] / area;
                        for (int i = i0; i < i1; i++) {
                            int rowStart = p * hw + (y * g.sh - g.ph + i) * g.w + z * g.sw - g.pw;
                            for (int j = j0; j < j1; j++) xa[rowStart + j] += share;
                        }
                    }
                }
            }
        });
        return gx;
    }
}
