package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * Fused, in-place parameter updates: one pass over weight, gradient and state instead of a chain of
 * elementwise ops. Weights, gradients and state tensors must be contiguous and of one shape.
 */
public final class OptimizerKernels {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int GRAIN = 1 << 14;

    private OptimizerKernels() {}

    /**
     * SGD with momentum (PyTorch's form): g' = g + wd w; buf = momentum buf + g'; w -= lr (nesterov ? g' +
     * momentum buf : buf). With momentum 0, {@code buf} may be null and w -= lr g'.
     */
    public static void sgd(Tensor w, Tensor g, Tensor buf, float lr, float momentum, float weightDecay, boolean nesterov) {
        check("sgd", w, g, buf, null);
        if (fast(w, g, buf, null)) {
            float[] wa = w.floats(), ga = g.floats(), ba = buf == null ? null : buf.floats();
            Parallel.forRange(w.numel(), GRAIN, (from, to) -> sgdVector(wa, ga, ba, lr, momentum, weightDecay, nesterov, from, to));
        } else {
            sgdReference(w.storage(), g.storage(), buf == null ? null : buf.storage(), w.numel(), lr, momentum,
                    weightDecay, nesterov);
        }
    }

    static void sgdReference(Storage w, Storage g, Storage buf, int n, double lr, double momentum, double wd,
            boolean nesterov) {
        for (int i = 0; i < n; i++) {
            double grad = g.get(i) + wd * w.get(i);
            double step = grad;
            if (buf != null) {
                double b = momentum * buf.get(i) + grad;
                buf.set(i, b);
                step = nesterov ? grad + momentum * b : b;
            }
            w.set(i, w.get(i) - lr * step);
        }
    }

    private static void sgdVector(float[] w, float[] g, float[] buf, float lr, float momentum, float wd,
            boolean nesterov, int from, int to) {
        int i = from;
        for (int upper = from + S.loopBound(to - from); i < upper; i += S.length()) {
            FloatVector wv = FloatVector.fromArray(S, w, i);
            FloatVector grad = FloatVector.fromArray(S, g, i).add(wv.mul(wd));
            FloatVector step = grad;
            if (buf != null) {
                FloatVector b = FloatVector.fromArray(S, buf, i).mul(momentum).add(grad);
                b.intoArray(buf, i);
                step = nesterov ? grad.add(b.mul(momentum)) : b;
            }
            wv.sub(step.mul(lr)).intoArray(w, i);
        }
        for (; i < to; i++) {
            float grad = g[i] + wd * w[i];
            float step = grad;
            if (buf != null) {
                buf[i] = momentum * buf[i] + grad;
                step = nesterov ? grad + momentum * buf[i] : buf[i];
            }
            w[i] -= lr * step;
        }
    }

    /**
     * AdamW (Loshchilov and Hutter): decoupled weight decay w -= lr wd w, then the Adam step with bias
     * corrections for step {@code t} (1-based).
     */
    public static void adamw(Tensor w, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
            float weightDecay, long t) {
        check("adamw", w, g, m, v);
        float c1 = (float) (1 - Math.pow(beta1, t));
        float c2 = (float) (1 - Math.pow(beta2, t));
        if (fast(w, g, m, v)) {
            float[] wa = w.floats(), ga = g.floats(), ma = m.floats(), va = v.floats();
            Parallel.forRange(w.numel(), GRAIN,
                    (from, to) -> adamwVector(wa, ga, ma, va, lr, beta1, beta2, eps, weightDecay, c1, c2, from, to));
        } else {
            adamwReference(w.storage(), g.storage(), m.storage(), v.storage(), w.numel(), lr, beta1, beta2, eps,
                    weightDecay, c1, c2);
        }
    }

    static void adamwReference(Storage w, Storage g, Storage m, Storage v, int n, double lr, double beta1,
            double beta2, double eps, double wd, double c1, double c2) {
        for (int i = 0; i < n; i++) {
            double grad = g.get(i);
            double mi = beta1 * m.get(i) + (1 - beta1) * grad;
            double vi = beta2 * v.get(i) + (1 - beta2) * grad * grad;
            m.set(i, mi);
            v.set(i, vi);
            double wi = w.get(i) * (1 - lr * wd);
            w.set(i, wi - lr * (mi / c1) / (Math.sqrt(vi / c2) + eps));
        }
    }

    private static void adamwVector(float[] w, float[] g, float[] m, float[] v, float lr, float b1, float b2,
            float eps, float wd, float c1, float c2, int from, int to) {
        float decay = 1 - lr * wd;
        float stepScale = lr / c1;
        float invC2 = 1 / c2;
        int i = from;
        for (int upper = from + S.loopBound(to - from); i < upper; i += S.length()) {
            FloatVector grad = FloatVector.fromArray(S, g, i);
            FloatVector mv = FloatVector.fromArray(S, m, i).mul(b1).add(grad.mul(1 - b1));
            FloatVector vv = FloatVector.fromArray(S, v, i).mul(b2).add(grad.mul(grad).mul(1 - b2));
            mv.intoArray(m, i);
            vv.intoArray(v, i);
            FloatVector denom = vv.mul(invC2).lanewise(VectorOperators.SQRT).add(eps);
            FloatVector.fromArray(S, w, i).mul(decay).sub(mv.mul(stepScale).div(denom)).intoArray(w, i);
        }
        for (; i < to; i++) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            w[i] = w[i] * decay - stepScale * m[i] / ((float) Math.sqrt(v[i] * invC2) + eps);
        }
    }

    /** Sum of squares of all elements, accumulated in double in a fixed order (for gradient clipping). */
    public static double sumOfSquares(Tensor t) {
        double s = 0;
        if (t.dtype() == DType.F32 && t.isContiguous()) {
            float[] a = t.floats();
            int off = t.offset();
            for (int i = 0; i < t.numel(); i++) {
                double x = a[off + i];
                s += x * x;
            }
        } else {
            for (int i = 0; i < t.numel(); i++) {
                double x = t.storage().get(t.storageIndex(i));
                s += x * x;
            }
        }
        return s;
    }

    /** Multiplies every element by {@code factor}, in place. */
    public static void scaleInPlace(Tensor t, double factor) {
        if (!t.isContiguous()) throw ShapeException.of("scaleInPlace", "tensor must be contiguous", t.shape());
        Storage s = t.storage();
        for (int i = 0; i < t.numel(); i++) s.set(t.offset() + i, s.get(t.offset() + i) * factor);
    }

    private static boolean fast(Tensor... ts) {
        if (!Backend.vector()) return false;
        for (Tensor t : ts) if (t != null && (t.dtype() != DType.F32 || t.offset() != 0)) return false;
        return true;
    }

    private static void check(String op, Tensor w, Tensor g, Tensor a, Tensor b) {
        for (Tensor t : new Tensor[] {w, g, a, b}) {
            if (t == null) continue;
            if (!t.sameShape(w)) throw ShapeException.of(op, "weight and state shapes differ", w.shape(), t.shape());
            if (!t.isContiguous()) throw ShapeException.of(op, "optimizer tensors must be contiguous", t.shape());
        }
    }
}
