package org.moe4j.autograd;

import org.moe4j.kernel.SmoothStepKernel;
import org.moe4j.tensor.Tensor;

/** The smooth-step of DSelect-k as a differentiable op (see {@link SmoothStepKernel}). */
public final class SmoothStep {
    private SmoothStep() {}

    /**
     * 0 for {@code x <= -gamma/2}, 1 for {@code x >= gamma/2}, a cubic in between with matching value and slope;
     * the gradient is exactly 0 outside the band, so a saturated selector stops learning there.
     */
    public static Variable smoothStep(Variable x, double gamma) {
        Tensor xv = x.value();
        Tensor y = SmoothStepKernel.forward(xv, gamma);
        return Variable.result("smoothStep", y, g -> new Tensor[] {SmoothStepKernel.backward(xv, g, gamma)}, x);
    }
}
