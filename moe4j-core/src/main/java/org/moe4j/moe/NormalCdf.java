package org.moe4j.moe;

import org.moe4j.autograd.Variable;
import org.moe4j.kernel.ErrorFunction;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * The standard normal CDF as a differentiable op, for noisy top-k's smooth load estimator. Router-sized inputs
 * ([tokens, experts]) need no fast path: the double-precision {@link ErrorFunction#normalCdf(double)} serves F32 and
 * F64 alike, which also keeps the float64 gradcheck exact.
 */
final class NormalCdf {
    private static final double INV_SQRT_2PI = 0.3989422804014327;

    private NormalCdf() {}

    /** Phi(z) element for element; the gradient is the normal density phi(z). */
    static Variable apply(Variable z) {
        Tensor zv = z.value();
        Storage zs = zv.storage();
        int n = zv.numel();
        Tensor y = zv.newZeros(zv.shape());
        for (int i = 0; i < n; i++) y.storage().set(i, ErrorFunction.normalCdf(zs.get(zv.storageIndex(i))));
        return Variable.result("normalCdf", y, g -> {
            Tensor dz = g.newZeros(g.shape());
            for (int i = 0; i < n; i++) {
                double v = zs.get(zv.storageIndex(i));
                dz.storage().set(i, g.storage().get(g.storageIndex(i)) * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
            }
            return new Tensor[] {dz};
        }, z);
    }
}
