package org.moe4j.autograd;

import org.moe4j.kernel.AttentionKernels;
import org.moe4j.tensor.Tensor;

/**
 * Scaled dot-product attention as one fused op: {@code softmax(q k^T * scale + mask) v} with q [B, H, T, D],
 * k [B, H, S, D], v [B, H, S, Dv]. Causal masking hides key j from query i when {@code j > i + (S - T)}, so a
 * query block at the end of a longer key sequence (KV-cache decoding) works. A query row that sees no key
 * (fully masked) outputs zeros and passes no gradient, never NaN. Grouped-query attention is the caller's job:
 * repeat the k/v heads to H first.
 */
public final class Attention {
    private Attention() {}

    /** Attention with the default scale {@code 1 / sqrt(D)}; mask may be null. */
    public static Variable scaledDotProductAttention(Variable q, Variable k, Variable v, Variable mask, boolean causal) {
        return scaledDotProductAttention(q, k, v, mask, causal, 1.0 / Math.sqrt(q.value().dim(-1)));
    }

    /**
     * Attention with an additive mask broadcastable to [B, H, T, S] (or null) and an explicit scale; returns
     * [B, H, T, Dv]. The mask gets a gradient when it requires one.
     */
    public static Variable scaledDotProductAttention(Variable q, Variable k, Variable v, Variable mask, boolean causal,
            double scale) {
        Tensor qv = q.value();
        Tensor kv = k.value();
        Tensor vv = v.value();
        Tensor mv = mask == null ? null : mask.value();
        AttentionKernels.Forward f = AttentionKernels.forward(qv, kv, vv, mv, causal, scale);
        Backward backward = g -> {
            boolean maskGrad = mask != null && mask.requiresGrad();
            AttentionKernels.Grads r = AttentionKernels.backward(g, qv, kv, vv, mv, causal, scale, f.logSumExp(),
                    maskGrad);
            return mask == null ? new Tensor[] {r.q(), r.k(), r.v()} : new Tensor[] {r.q(), r.k(), r.v(), r.mask()};
        };
        String op = "scaledDotProductAttention";
        return mask == null ? Variable.result(op, f.out(), backward, q, k, v)
                : Variable.result(op, f.out(), backward, q, k, v, mask);
    }
}
