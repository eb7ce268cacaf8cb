package org.moe4j.kernel;

import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * The cubic smooth-step of DSelect-k (Hazimeh et al. 2021): 0 below {@code -gamma/2}, 1 above {@code gamma/2},
 * and {@code -2 t^3 / gamma^3 + 3 t / (2 gamma) + 1/2} between, so value and slope are continuous and the ends
 * are exactly 0 and 1. Scalar only, through {@code Storage.get/set} (F32 and F64): it runs on router-sized
 * inputs (tokens x selectors x log2 experts), where a vector path would not pay for itself.
 */
public final class SmoothStepKernel {
    private SmoothStepKernel() {}

    /** S(x) elementwise, as a fresh contiguous tensor of x's dtype and shape. */
    public static Tensor forward(Tensor x, double gamma) {
        checkGamma(gamma);
        Tensor y = x.newZeros(x.shape());
        Storage in = x.storage(), out = y.storage();
        for (int i = 0; i < x.numel(); i++) out.set(i, value(in.get(x.storageIndex(i)), gamma));
        return y;
    }

    /** {@code g * S'(x)} elementwise; S' is {@code 3/(2 gamma) - 6 t^2 / gamma^3} inside the band, 0 outside. */
    public static Tensor backward(Tensor x, Tensor g, double gamma) {
        checkGamma(gamma);
        Tensor dx = x.newZeros(x.shape());
        Storage in = x.storage(), grad = g.storage(), out = dx.storage();
        for (int i = 0; i < x.numel(); i++) {
            out.set(i, grad.get(g.storageIndex(i)) * slope(in.get(x.storageIndex(i)), gamma));
        }
        return dx;
    }

    static double value(double t, double gamma) {
        if (t <= -gamma / 2) return 0;
        if (t >= gamma / 2) return 1;
        return -2 * t * t * t / (gamma * gamma * gamma) + 3 * t / (2 * gamma) + 0.5;
    }

    static double slope(double t, double gamma) {
        if (t <= -gamma / 2 || t >= gamma / 2) return 0;
        return 3 / (2 * gamma) - 6 * t * t / (gamma * gamma * gamma);
    }

    private static void checkGamma(double gamma) {
        if (!(gamma > 0) || Double.isInfinite(gamma)) {
            throw new Moe4jException("smoothStep: gamma must be positive and finite, got " + gamma);
        }
    }
}
