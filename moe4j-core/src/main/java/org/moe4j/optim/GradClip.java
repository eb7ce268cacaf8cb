package org.moe4j.optim;

import java.util.List;
import org.moe4j.autograd.Variable;
import org.moe4j.kernel.OptimizerKernels;

/** Gradient clipping by global norm. */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales all gradients so their joint L2 norm is at most {@code maxNorm}; returns the norm before
     * clipping (NaN or infinite when some gradient is, which the caller should treat as a failed step).
     */
    public static double clipGradNorm(List<Variable> params, double maxNorm) {
        double sumSq = 0;
        for (Variable p : params) if (p.grad() != null) sumSq += OptimizerKernels.sumOfSquares(p.grad());
        double norm = Math.sqrt(sumSq);
        if (norm > maxNorm && Double.isFinite(norm)) {
            double factor = maxNorm / (norm + 1e-6);
            for (Variable p : params) if (p.grad() != null) OptimizerKernels.scaleInPlace(p.grad(), factor);
        }
        return norm;
    }
}
