package org.moe4j.autograd;

import org.moe4j.kernel.GluKernels;
import org.moe4j.tensor.Tensor;

/** Gated linear units: the gate of a gated feed-forward layer as one fused op (see {@link GluKernels}). */
public final class Glu {
    private Glu() {}

    /** {@code silu(gate) * up} (SwiGLU, Shazeer 2020), gate and up of one shape; the same as the two ops composed. */
    public static Variable swiglu(Variable gate, Variable up) {
        Tensor g = gate.value(), u = up.value();
        Tensor h = GluKernels.swiglu(g, u);
        return Variable.result("swiglu", h, dh -> {
            Tensor[] grads = GluKernels.swigluBackward(g, u, dh);
            return new Tensor[] {gate.requiresGrad() ? grads[0] : null, up.requiresGrad() ? grads[1] : null};
        }, gate, up);
    }
}
