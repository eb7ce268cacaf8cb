package org.moe4j.autograd;

import org.moe4j.kernel.RopeKernels;
import org.moe4j.tensor.Tensor;

/** Rotary position embeddings as an op (see {@link RopeKernels}): the backward turns the gradient back. */
public final class Rotary {
    private Rotary() {}

    /** x [..., T, H, D] with row t rotated to position {@code start + t}, in Hugging Face's half-split pairing. */
    public static Variable rope(Variable x, RopeKernels.Tables tables, int start) {
        Tensor y = RopeKernels.rotate(x.value(), tables, start, false);
        return Variable.result("rope", y, g -> new Tensor[] {RopeKernels.rotate(g, tables, start, true)}, x);
    }
}
