package org.moe4j.nn;

import org.moe4j.autograd.Normalization;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;

/** RMSNorm over the last axis with a learned scale, as Llama and every MoE language model use it. */
public final class RmsNorm extends Module {
    private final int dim;
    private final double eps;
    private final Variable weight; // [dim], starts at 1

    public RmsNorm(int dim, double eps) {
        if (dim <= 0) throw new Moe4jException("RmsNorm: dim must be positive, got " + dim);
        if (!(eps > 0) || Double.isInfinite(eps)) throw new Moe4jException("RmsNorm: eps must be positive and finite, got " + eps);
        this.dim = dim;
        this.eps = eps;
        this.weight = parameter("weight", Init.constant(1.0, dim));
    }

    /** x [..., dim] to the same shape. */
    public Variable forward(Variable x) {
        return Normalization.rmsNorm(x, weight, eps);
    }

    public Variable weight() {
        return weight;
    }

    public int dim() {
        return dim;
    }

    public double eps() {
        return eps;
    }
}
