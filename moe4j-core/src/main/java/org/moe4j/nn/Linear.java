package org.moe4j.nn;

import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

/** {@code y = x W^T + b}, over the last axis of x, with PyTorch's layout and initialisation. */
public final class Linear extends Module {
    private final int in;
    private final int out;
    private final Variable weight; // [out, in]
    private final Variable bias; // [out], or null

    public Linear(int in, int out, boolean bias, Rng rng) {
        if (in <= 0 || out <= 0) throw new Moe4jException("Linear: sizes must be positive, got in=" + in + " out=" + out);
        this.in = in;
        this.out = out;
        this.weight = parameter("weight", Init.kaimingUniform(rng, in, out, in));
        this.bias = bias ? parameter("bias", Init.kaimingUniform(rng, in, out)) : null;
    }

    /** x [..., in] to [..., out]. */
    public Variable forward(Variable x) {
        return LinearAlgebra.linear(x, weight, bias);
    }

    public Variable weight() {
        return weight;
    }

    public Variable bias() {
        return bias;
    }

    public int inFeatures() {
        return in;
    }

    public int outFeatures() {
        return out;
    }
}
