package org.moe4j.nn;

import org.moe4j.autograd.Convolution;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

/** A 2-d convolution over NCHW inputs with a square kernel, PyTorch's layout and initialisation. */
public final class Conv2d extends Module {
    private final int in;
    private final int out;
    private final int kernel;
    private final int stride;
    private final int padding;
    private final Variable weight; // [out, in, kernel, kernel]
    private final Variable bias; // [out], or null

    public Conv2d(int in, int out, int kernel, int stride, int padding, boolean bias, Rng rng) {
        if (in <= 0 || out <= 0 || kernel <= 0 || stride <= 0 || padding < 0) {
            throw new Moe4jException("Conv2d: channels, kernel and stride must be positive and padding >= 0, got in="
                    + in + " out=" + out + " kernel=" + kernel + " stride=" + stride + " padding=" + padding);
        }
        this.in = in;
        this.out = out;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        int fanIn = in * kernel * kernel;
        this.weight = parameter("weight", Init.kaimingUniform(rng, fanIn, out, in, kernel, kernel));
        this.bias = bias ? parameter("bias", Init.kaimingUniform(rng, fanIn, out)) : null;
    }

    /** x [N, in, H, W] to [N, out, OH, OW]. */
    public Variable forward(Variable x) {
        return Convolution.conv2d(x, weight, bias, stride, padding);
    }

    /** The output length of a spatial axis of length {@code size}. */
    public int outputSize(int size) {
        return (size + 2 * padding - kernel) / stride + 1;
    }

    public Variable weight() {
        return weight;
    }

    public Variable bias() {
        return bias;
    }

    public int inChannels() {
        return in;
    }

    public int outChannels() {
        return out;
    }

    public int kernel() {
        return kernel;
    }
}
