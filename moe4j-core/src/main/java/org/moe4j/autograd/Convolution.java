package org.moe4j.autograd;

import org.moe4j.kernel.Conv;
import org.moe4j.kernel.Pool;
import org.moe4j.tensor.Tensor;

/**
 * Convolution and pooling ops over NCHW variables, with PyTorch semantics (see {@link Conv} and {@link Pool}):
 * zero padding, floor output sizes, groups = 1, dilation = 1. Average pooling counts padding in its divisor
 * ({@code count_include_pad = true}, PyTorch's default).
 */
public final class Convolution {
    private Convolution() {}

    /** conv2d with the same stride and padding on both axes; bias [O] may be null. */
    public static Variable conv2d(Variable x, Variable weight, Variable bias, int stride, int padding) {
        return conv2d(x, weight, bias, stride, stride, padding, padding);
    }

    /** x [N, C, H, W] convolved with weight [O, C, kh, kw], plus bias [O] (or null): [N, O, OH, OW]. */
    public static Variable conv2d(Variable x, Variable weight, Variable bias, int strideH, int strideW,
            int padH, int padW) {
        Tensor xv = x.value();
        Tensor wv = weight.value();
        Tensor out = Conv.conv2d(xv, wv, bias == null ? null : bias.value(), strideH, strideW, padH, padW);
        int[] xShape = x.shape();
        int[] wShape = weight.shape();
        Backward backward = g -> {
            Tensor gx = x.requiresGrad() ? Conv.conv2dBackwardInput(g, wv, xShape, strideH, strideW, padH, padW) : null;
            Tensor gw = weight.requiresGrad()
                    ? Conv.conv2dBackwardWeight(g, xv, wShape, strideH, strideW, padH, padW) : null;
            if (bias == null) return new Tensor[] {gx, gw};
            return new Tensor[] {gx, gw, bias.requiresGrad() ? Conv.conv2dBackwardBias(g) : null};
        };
        return bias == null ? Variable.result("conv2d", out, backward, x, weight)
                : Variable.result("conv2d", out, backward, x, weight, bias);
    }

    /** Max pooling with a square kernel, stride and padding; padding at most kernel / 2. */
    public static Variable maxPool2d(Variable x, int kernel, int stride, int padding) {
        return maxPool2d(x, kernel, kernel, stride, stride, padding, padding);
    }

    /** Max pooling of x [N, C, H, W]; the gradient goes to the first maximum of each window. */
    public static Variable maxPool2d(Variable x, int kernelH, int kernelW, int strideH, int strideW,
            int padH, int padW) {
        Pool.MaxPoolResult r = Pool.maxPool2d(x.value(), kernelH, kernelW, strideH, strideW, padH, padW);
        int[] xShape = x.shape();
        return Variable.result("maxPool2d", r.out(),
                g -> new Tensor[] {Pool.maxPool2dBackward(g, r.indices(), xShape)}, x);
    }

    /** Average pooling with a square kernel, stride and padding; padding at most kernel / 2. */
    public static Variable avgPool2d(Variable x, int kernel, int stride, int padding) {
        return avgPool2d(x, kernel, kernel, stride, stride, padding, padding);
    }

    /** Average pooling of x [N, C, H, W]; every window divides by kernelH * kernelW, padding included. */
    public static Variable avgPool2d(Variable x, int kernelH, int kernelW, int strideH, int strideW,
            int padH, int padW) {
        Tensor out = Pool.avgPool2d(x.value(), kernelH, kernelW, strideH, strideW, padH, padW);
        int[] xShape = x.shape();
        return Variable.result("avgPool2d", out, g -> new Tensor[] {
                Pool.avgPool2dBackward(g, xShape, kernelH, kernelW, strideH, strideW, padH, padW)}, x);
    }
}
