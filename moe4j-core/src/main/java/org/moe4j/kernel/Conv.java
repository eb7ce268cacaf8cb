package org.moe4j.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * 2-d convolution over NCHW tensors with PyTorch semantics: cross-correlation (the kernel is not flipped), groups
 * = 1, dilation = 1, zero padding, and {@code out = floor((in + 2 pad - kernel) / stride) + 1} along each axis.
 *
 * <p>The fast path (F32, vector backend) is parallel over the batch. Stride-1 convolutions (all three passes)
 * read a zero-padded copy of each image directly ({@link ConvDirect}); a 1x1 kernel with stride 1 and no padding
 * multiplies the image itself with {@link Gemm#sgemm}; other strides unfold each batch item into columns
 * (im2col) for the GEMM. The references are the direct loop definitions through {@code Storage.get/set}, so they serve F64
 * (gradcheck) and any strides.
 */
public final class Conv {
    static final String OP = "conv2d";
    /** Multiply-adds below which a batch chunk is not worth a thread. */
    private static final long GRAIN_WORK = 1 << 15;

    private Conv() {}

    /** The sizes of one conv2d call, validated once. */
    record Geometry(int n, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow) {
        int ckk() {
            return c * kh * kw;
        }

        int ohw() {
            return oh * ow;
        }

        /** Elements of one batch item's column matrix [C*kh*kw, OH*OW], which may exceed the input's count. */
        int colSize() {
            try {
                return Math.multiplyExact(ckk(), ohw());
            } catch (ArithmeticException e) {
                throw new ShapeException(OP, "the unfolded input of one batch item, " + ckk() + " x " + ohw()
                        + ", has more than 2^31-1 elements");
            }
        }

        int[] outShape() {
            return new int[] {n, o, oh, ow};
        }

        /** 1x1 kernel, stride 1, no padding: each batch item already is its column matrix. */
        boolean direct() {
            return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
        }

        int grain() {
            long perItem = Math.max(1L, (long) o * ckk() * ohw());
            return (int) Math.max(1, Math.min(Integer.MAX_VALUE, GRAIN_WORK / perItem));
        }
    }

    /** The output length of one spatial axis: {@code floor((in + 2 pad - kernel) / stride) + 1}. */
    public static int outputSize(int in, int kernel, int stride, int pad) {
        return (in + 2 * pad - kernel) / stride + 1;
    }

    /**
     * Checks one spatial axis of a sliding window and returns its output length; {@code what} names the axis in
     * the message ("height", "width"). Shared with {@link Pool}.
     */
    static int windowAxis(String op, String what, int in, int kernel, int stride, int pad, int[]... shapes) {
        if (kernel < 1) throw ShapeException.of(op, "kernel " + what + " " + kernel + " must be positive", shapes);
        if (stride < 1) throw ShapeException.of(op, "stride along " + what + " " + stride + " must be positive", shapes);
        if (pad < 0) throw ShapeException.of(op, "padding along " + what + " " + pad + " must not be negative", shapes);
        if ((long) in + 2L * pad < kernel) {
            throw ShapeException.of(op, "kernel " + what + " " + kernel + " is larger than the padded input " + what + " "
                    + in + " + 2*" + pad, shapes);
        }
        return outputSize(in, kernel, stride, pad);
    }

    static Geometry geometry(int[] x, int[] w, int[] bias, int sh, int sw, int ph, int pw) {
        if (x.length != 4) throw ShapeException.of(OP, "input must be [N, C, H, W]", x);
        if (w.length != 4) throw ShapeException.of(OP, "weight must be [O, C, kh, kw]", w);
        if (x[1] != w[1]) {
            throw ShapeException.of(OP, "input has " + x[1] + " channels but the weight expects " + w[1]
                    + " (input and weight)", x, w);
        }
        if (w[0] < 1 || w[1] < 1) throw ShapeException.of(OP, "needs at least one input and one output channel", x, w);
        if (bias != null && (bias.length != 1 || bias[0] != w[0])) {
            throw ShapeException.of(OP, "bias must be [" + w[0] + "] for the weight (weight and bias)", w, bias);
        }
        int oh = windowAxis(OP, "height", x[2], w[2], sh, ph, x, w);
        int ow = windowAxis(OP, "width", x[3], w[3], sw, pw, x, w);
        Geometry g = new Geometry(x[0], x[1], x[2], x[3], w[0], w[2], w[3], sh, sw, ph, pw, oh, ow);
        g.colSize(); // fails here, on the caller's thread, when the fast path could not unfold the input
        return g;
    }

    private static boolean fast(Tensor... ts) {
        if (!Backend.vector()) return false;
        for (Tensor t : ts) if (t != null && t.dtype() != DType.F32) return false;
        return true;
    }

    // ---- forward ---------------------------------------------------------------------------------------------

    /**
     * {@code out[n,o,y,x] = bias[o] + sum_{c,i,j} in[n,c,y*sh-ph+i, x*sw-pw+j] * weight[o,c,i,j]}, zero outside
     * the input. x [N, C, H, W], weight [O, C, kh, kw], bias [O] or null; returns [N, O, OH, OW].
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW) {
        Geometry g = geometry(x.shape(), weight.shape(), bias == null ? null : bias.shape(), strideH, strideW, padH, padW);
        return fast(x, weight, bias) ? conv2dVector(x, weight, bias, g) : conv2dReference(x, weight, bias, g);
    }

    static Tensor conv2dReference(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW) {
        Geometry g = geometry(x.shape(), weight.shape(), bias == null ? null : bias.shape(), strideH, strideW, padH, padW);
        return conv2dReference(x, weight, bias, g);
    }

    private static Tensor conv2dReference(Tensor x, Tensor weight, Tensor bias, Geometry g) {
        Tensor out = x.newZeros(g.outShape());
        Storage xs = x.storage();
        Storage ws = weight.storage();
        Storage os = out.storage();
        int[] xt = x.strides();
        int[] wt = weight.strides();
        for (int n = 0; n < g.n; n++) {
            for (int o = 0; o < g.o; o++) {
                double b = bias == null ? 0 : bias.storage().get(bias.offset() + o * bias.stride(0));
                for (int y = 0; y < g.oh; y++) {
                    for (int z = 0; z < g.ow; z++) {
                        double sum = b;
                        for (int c = 0; c < g.c; c++) {
                            for (int i = 0; i < g.kh; i++) {
                                int ih = y * g.sh - g.ph + i;
                                if (ih < 0 || ih >= g.h) continue;
                                for (int j = 0; j < g.kw; j++) {
                                    int iw = z * g.sw - g.pw + j;
                                    if (iw < 0 || iw >= g.w) continue;
                                    sum += xs.get(x.offset() + n * xt[0] + c * xt[1] + ih * xt[2] + iw * xt[3])
                                            * ws.get(weight.offset() + o * wt[0] + c * wt[1] + i * wt[2] + j * wt[3]);
                                }
                            }
                        }
                        os.set(((n * g.o + o) * g.oh + y) * g.ow + z, sum);
                    }
                }
            }
        }
        return out;
    }

    private static Tensor conv2dVector(Tensor x, Tensor weight, Tensor bias, Geometry g) {
        Tensor xc = x.contiguous();
        Tensor wc = weight.contiguous();
        float[] xa = xc.floats();
        float[] wa = wc.floats();
        int xo = xc.offset();
        int wo = wc.offset();
        float[] ba = bias == null ? null : bias.contiguous().toFloatArray();
        Tensor out = Tensor.zeros(g.outShape());
        float[] oa = out.floats();
        if (!g.direct() && ConvDirect.forwardApplies(g)) {
            ConvDirect.forward(xa, xo, wa, wo, ba, g, oa);
            return out;
        }
        int ckk = g.ckk();
        int ohw = g.ohw();
        int plane = g.c * g.h * g.w;
        Parallel.forRange(g.n, g.grain(), (from, to) -> {
            float[] col = g.direct() ? null : new float[g.colSize()]; // [C*kh*kw, OH*OW]
            for (int n = from; n < to; n++) {
                float[] b = col;
                int bOff = 0;
                if (g.direct()) {
                    b = xa;
                    bOff = xo + n * plane;
                } else {
                    im2col(xa, xo + n * plane, g, col);
                }
                int outOff = n * g.o * ohw;
                Gemm.sgemm(false, false, g.o, ohw, ckk, 1f, wa, wo, ckk, b, bOff, ohw, 0f, oa, outOff, ohw);
                if (ba != null) {
                    for (int o = 0; o < g.o; o++) {
                        float bo = ba[o];
                        for (int p = outOff + o * ohw, end = p + ohw; p < end; p++) oa[p] += bo;
                    }
                }
            }
        });
        return out;
    }

    // ---- backward --------------------------------------------------------------------------------------------

    /** The gradient with respect to the input [N, C, H, W], given gradOut [N, O, OH, OW] and the weight. */
    public static Tensor conv2dBackwardInput(Tensor gradOut, Tensor weight, int[] inputShape,
            int strideH, int strideW, int padH, int padW) {
        Geometry g = backwardGeometry(gradOut, inputShape, weight.shape(), strideH, strideW, padH, padW);
        return fast(gradOut, weight) ? backwardInputVector(gradOut, weight, g) : backwardInputReference(gradOut, weight, g);
    }

    static Tensor conv2dBackwardInputReference(Tensor gradOut, Tensor weight, int[] inputShape,
            int strideH, int strideW, int padH, int padW) {
        return backwardInputReference(gradOut, weight,
                backwardGeometry(gradOut, inputShape, weight.shape(), strideH, strideW, padH, padW));
    }

    /** The gradient with respect to the weight [O, C, kh, kw], given gradOut [N, O, OH, OW] and the input. */
    public static Tensor conv2dBackwardWeight(Tensor gradOut, Tensor x, int[] weightShape,
            int strideH, int strideW, int padH, int padW) {
        Geometry g = backwardGeometry(gradOut, x.shape(), weightShape, strideH, strideW, padH, padW);
        return fast(gradOut, x) ? backwardWeightVector(gradOut, x, g) : backwardWeightReference(gradOut, x, g);
    }

    static Tensor conv2dBackwardWeightReference(Tensor gradOut, Tensor x, int[] weightShape,
            int strideH, int strideW, int padH, int padW) {
        return backwardWeightReference(gradOut, x,
                backwardGeometry(gradOut, x.shape(), weightShape, strideH, strideW, padH, padW));
    }

    /** The gradient with respect to the bias [O]: gradOut [N, O, OH, OW] summed over N, OH, OW. */
    public static Tensor conv2dBackwardBias(Tensor gradOut) {
        if (gradOut.rank() != 4) throw ShapeException.of(OP, "gradient of the output must be [N, O, OH, OW]", gradOut.shape());
        int n = gradOut.dim(0);
        int o = gradOut.dim(1);
        int hw = gradOut.dim(2) * gradOut.dim(3);
        Tensor out = gradOut.newZeros(o);
        if (fast(gradOut) && gradOut.isContiguous()) {
            float[] ga = gradOut.floats();
            int go = gradOut.offset();
            float[] oa = out.floats();
            // Each plane is summed by vector lanes, then its lanes in order, into a double per channel: a fixed
            // order, so the result does not depend on the thread count.
            Parallel.forRange(o, Math.max(1, (int) (GRAIN_WORK / Math.max(1L, (long) n * hw))), (from, to) -> {
                VectorSpecies<Float> species = Backend.FLOATS; // read inside the lambda, so the JIT sees a constant
                int upper = species.loopBound(hw);
                for (int c = from; c < to; c++) {
                    double sum = 0;
                    for (int b = 0; b < n; b++) {
                        int p = go + (b * o + c) * hw;
                        FloatVector acc = FloatVector.zero(species);
                        int i = 0;
                        for (; i < upper; i += species.length()) acc = acc.add(FloatVector.fromArray(species, ga, p + i));
                        float plane = VectorMath.sumLanes(acc);
                        for (; i < hw; i++) plane += ga[p + i];
                        sum += plane;
                    }
                    oa[c] = (float) sum;
                }
            });
            return out;
        }
        return conv2dBackwardBiasReference(gradOut);
    }

    static Tensor conv2dBackwardBiasReference(Tensor gradOut) {
        int[] s = gradOut.shape();
        Tensor out = gradOut.newZeros(s[1]);
        for (int c = 0; c < s[1]; c++) {
            double sum = 0;
            for (int b = 0; b < s[0]; b++) {
                for (int y = 0; y < s[2]; y++) {
                    for (int z = 0; z < s[3]; z++) sum += gradOut.getDouble(b, c, y, z);
                }
            }
            out.set(sum, c);
        }
        return out;
    }

    private static Geometry backwardGeometry(Tensor gradOut, int[] xShape, int[] wShape, int sh, int sw, int ph, int pw) {
        Geometry g = geometry(xShape, wShape, null, sh, sw, ph, pw);
        if (!Arrays.equals(gradOut.shape(), g.outShape())) {
            throw ShapeException.of(OP, "gradient of the output must be " + Arrays.toString(g.outShape())
                    + " (gradient, input, weight)", gradOut.shape(), xShape, wShape);
        }
        return g;
    }

    private static Tensor backwardInputReference(Tensor gradOut, Tensor weight, Geometry g) {
        Tensor gx = gradOut.newZeros(g.n, g.c, g.h, g.w);
        Storage gs = gx.storage();
        Storage ws = weight.storage();
        int[] wt = weight.strides();
        for (int n = 0; n < g.n; n++) {
            for (int o = 0; o < g.o; o++) {
                for (int y = 0; y < g.oh; y++) {
                    for (int z = 0; z < g.ow; z++) {
                        double go = gradOut.getDouble(n, o, y, z);
                        for (int c = 0; c < g.c; c++) {
                            for (int i = 0; i < g.kh; i++) {
                                int ih = y * g.sh - g.ph + i;
                                if (ih < 0 || ih >= g.h) continue;
                                for (int j = 0; j < g.kw; j++) {
                                    int iw = z * g.sw - g.pw + j;
                                    if (iw < 0 || iw >= g.w) continue;
                                    int p = ((n * g.c + c) * g.h + ih) * g.w + iw;
                                    double wv = ws.get(weight.offset() + o * wt[0] + c * wt[1] + i * wt[2] + j * wt[3]);
                                    gs.set(p, gs.get(p) + go * wv);
                                }
                            }
                        }
                    }
                }
            }
        }
        return gx;
    }

    private static Tensor backwardWeightReference(Tensor gradOut, Tensor x, Geometry g) {
        Tensor gw = gradOut.newZeros(g.o, g.c, g.kh, g.kw);
        Storage gs = gw.storage();
        Storage xs = x.storage();
        int[] xt = x.strides();
        for (int o = 0; o < g.o; o++) {
            for (int c = 0; c < g.c; c++) {
                for (int i = 0; i < g.kh; i++) {
                    for (int j = 0; j < g.kw; j++) {
                        double sum = 0;
                        for (int n = 0; n < g.n; n++) {
                            for (int y = 0; y < g.oh; y++) {
                                int ih = y * g.sh - g.ph + i;
                                if (ih < 0 || ih >= g.h) continue;
                                for (int z = 0; z < g.ow; z++) {
                                    int iw = z * g.sw - g.pw + j;
                                    if (iw < 0 || iw >= g.w) continue;
                                    sum += gradOut.getDouble(n, o, y, z)
                                            * xs.get(x.offset() + n * xt[0] + c * xt[1] + ih * xt[2] + iw * xt[3]);
                                }
                            }
                        }
                        gs.set(((o * g.c + c) * g.kh + i) * g.kw + j, sum);
                    }
                }
            }
        }
        return gw;
    }

    private static Tensor backwardInputVector(Tensor gradOut, Tensor weight, Geometry g) {
        Tensor gc = gradOut.contiguous();
        Tensor wc = weight.contiguous();
        float[] ga = gc.floats();
        float[] wa = wc.floats();
        int goOff = gc.offset();
        int wo = wc.offset();
        Tensor gx = Tensor.zeros(g.n, g.c, g.h, g.w);
        float[] xa = gx.floats();
        if (!g.direct() && ConvDirect.backwardInputApplies(g)) {
            ConvDirect.backwardInput(ga, goOff, wa, wo, g, xa);
            return gx;
        }
        int ckk = g.ckk();
        int ohw = g.ohw();
        int plane = g.c * g.h * g.w;
        Parallel.forRange(g.n, g.grain(), (from, to) -> {
            float[] col = g.direct() ? null : new float[g.colSize()]; // [C*kh*kw, OH*OW]
            for (int n = from; n < to; n++) {
                int gOff = goOff + n * g.o * ohw;
                if (g.direct()) {
                    Gemm.sgemm(true, false, ckk, ohw, g.o, 1f, wa, wo, ckk, ga, gOff, ohw, 0f, xa, n * plane, ohw);
                } else {
                    Gemm.sgemm(true, false, ckk, ohw, g.o, 1f, wa, wo, ckk, ga, gOff, ohw, 0f, col, 0, ohw);
                    col2im(col, g, xa, n * plane);
                }
            }
        });
        return gx;
    }

    private static Tensor backwardWeightVector(Tensor gradOut, Tensor x, Geometry g) {
        Tensor gc = gradOut.contiguous();
        Tensor xc = x.contiguous();
        float[] ga = gc.floats();
        float[] xa = xc.floats();
        int goOff = gc.offset();
        int xo = xc.offset();
        if (!g.direct() && ConvDirect.forwardApplies(g)) {
            return Tensor.of(ConvDirect.backwardWeight(ga, goOff, xa, xo, g), g.o, g.c, g.kh, g.kw);
        }
        int ckk = g.ckk();
        int ohw = g.ohw();
        int plane = g.c * g.h * g.w;
        // Each chunk of the batch sums into its own partial; the partials are added in chunk order afterwards,
        // so the result depends only on the thread count, never on timing.
        int chunks = Parallel.chunks(g.n, g.grain());
        float[][] partials = new float[chunks][];
        Parallel.forChunks(g.n, chunks, (chunk, from, to) -> {
            float[] acc = new float[g.o * ckk]; // [O, C*kh*kw]
            float[] col = g.direct() ? null : new float[g.colSize()]; // [C*kh*kw, OH*OW]
            for (int n = from; n < to; n++) {
                float[] b = col;
                int bOff = 0;
                if (g.direct()) {
                    b = xa;
                    bOff = xo + n * plane;
                } else {
                    im2col(xa, xo + n * plane, g, col);
                }
                Gemm.sgemm(false, true, g.o, ckk, ohw, 1f, ga, goOff + n * g.o * ohw, ohw, b, bOff, ohw,
                        n == from ? 0f : 1f, acc, 0, ckk);
            }
            partials[chunk] = acc;
        });
        Tensor gw = Tensor.zeros(g.o, g.c, g.kh, g.kw);
        float[] wa = gw.floats();
        for (float[] part : partials) {
            for (int i = 0; i < wa.length; i++) wa[i] += part[i];
        }
        return gw;
    }

    // ---- unfolding -------------------------------------------------------------------------------------------

    /** First output column whose input column {@code ow*sw - pw + j} is inside the image. */
    private static int firstValid(Geometry g, int j) {
        return Math.min(g.ow, Math.max(0, Math.ceilDiv(g.pw - j, g.sw)));
    }

    /** One past the last output column whose input column is inside the image. */
    private static int endValid(Geometry g, int j) {
        int last = g.w - 1 + g.pw - j;
        return last < 0 ? 0 : Math.min(g.ow, last / g.sw + 1);
    }

    /** Writes one batch item's receptive fields as columns: col [C*kh*kw, OH*OW], zeros where padding falls. */
    static void im2col(float[] x, int xOff, Geometry g, float[] col) {
        int ohw = g.ohw();
        for (int c = 0; c < g.c; c++) {
            for (int i = 0; i < g.kh; i++) {
                for (int j = 0; j < g.kw; j++) {
                    int row = ((c * g.kh + i) * g.kw + j) * ohw;
                    int lo = firstValid(g, j);
                    int hi = Math.max(lo, endValid(g, j));
                    for (int y = 0; y < g.oh; y++) {
                        int dst = row + y * g.ow;
                        int ih = y * g.sh - g.ph + i;
                        if (ih < 0 || ih >= g.h || lo == hi) {
                            Arrays.fill(col, dst, dst + g.ow, 0f);
                            continue;
                        }
                        Arrays.fill(col, dst, dst + lo, 0f);
                        int src = xOff + (c * g.h + ih) * g.w + lo * g.sw - g.pw + j;
                        if (g.sw == 1) {
                            System.arraycopy(x, src, col, dst + lo, hi - lo);
                        } else {
                            for (int t = lo; t < hi; t++, src += g.sw) col[dst + t] = x[src];
                        }
                        Arrays.fill(col, dst + hi, dst + g.ow, 0f);
                    }
                }
            }
        }
    }

    /** The adjoint of {@link #im2col}: adds each column entry back onto the input position it came from. */
    static void col2im(float[] col, Geometry g, float[] x, int xOff) {
        int ohw = g.ohw();
        for (int c = 0; c < g.c; c++) {
            for (int i = 0; i < g.kh; i++) {
                for (int j = 0; j < g.kw; j++) {
                    int row = ((c * g.kh + i) * g.kw + j) * ohw;
                    int lo = firstValid(g, j);
                    int hi = endValid(g, j);
                    for (int y = 0; y < g.oh; y++) {
                        int ih = y * g.sh - g.ph + i;
                        if (ih < 0 || ih >= g.h) continue;
                        int src = row + y * g.ow;
                        int dst = xOff + (c * g.h + ih) * g.w + lo * g.sw - g.pw + j;
                        for (int t = lo; t < hi; t++, dst += g.sw) x[dst] += col[src + t];
                    }
                }
            }
        }
    }
}
