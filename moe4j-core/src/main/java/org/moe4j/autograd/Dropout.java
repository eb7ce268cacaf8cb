package org.moe4j.autograd;

import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.kernel.DropoutKernel;
import org.moe4j.tensor.Tensor;

/** Inverted dropout: kept elements are scaled by {@code 1/(1-p)}, so the expectation of the output is x. */
public final class Dropout {
    private Dropout() {}

    /**
     * Zeroes each element with probability p and scales the rest by {@code 1/(1-p)}; the backward applies the
     * same mask. The mask is fixed by one draw from {@code rng}, so the same Rng state gives the same mask.
     * Identity (x itself) when {@code p == 0} or not training; p outside [0, 1) is an error.
     */
    public static Variable dropout(Variable x, double p, Rng rng, boolean training) {
        if (!(p >= 0 && p < 1)) throw new Moe4jException("dropout: p must be in [0, 1), got " + p);
        if (!training || p == 0) return x;
        if (rng == null) throw new Moe4jException("dropout: training with p=" + p + " needs an Rng");
        boolean[] keep = DropoutKernel.keepMask(x.value().numel(), p, rng.nextLong());
        double scale = 1 / (1 - p);
        Tensor y = DropoutKernel.apply(x.value(), keep, scale);
        return Variable.result("dropout", y, g -> new Tensor[] {DropoutKernel.apply(g, keep, scale)}, x);
    }
}
