package org.moe4j.nn;

import org.moe4j.autograd.Normalization;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;

/** LayerNorm over the last axis with a learned scale (starting at 1) and shift (starting at 0), as PyTorch. */
public final class LayerNorm extends Module {
    private final int size;
    private final double eps;
    private final Variable weight; // [size]
    private final Variable bias; // [size]

    public LayerNorm(int size, double eps) {
        if (size <= 0) throw new Moe4jException("LayerNorm: size must be positive, got " + size);
        if (!(eps > 0)) throw new Moe4jException("LayerNorm: eps must be positive, got " + eps);
        this.size = size;
        this.eps = eps;
        this.weight = parameter("weight", Init.constant(1, size));
        this.bias = parameter("bias", Init.constant(0, size));
    }

    /** With PyTorch's default eps 1e-5. */
    public LayerNorm(int size) {
        this(size, 1e-5);
    }

    /** x [..., size] normalised over its last axis. */
    public Variable forward(Variable x) {
        return Normalization.layerNorm(x, weight, bias, eps);
    }

    public int size() {
        return size;
    }

    public Variable weight() {
        return weight;
    }

    public Variable bias() {
        return bias;
    }
}
