package org.moe4j.autograd;

import org.moe4j.kernel.HeadKernels;
import org.moe4j.kernel.RopeKernels;
import org.moe4j.tensor.Tensor;

/**
 * Attention's head layouts as ops (see {@link HeadKernels}): each is one pass forward and one backward, and both
 * give contiguous tensors, so the attention kernel and the gradient accumulation copy nothing more.
 */
public final class Heads {
    private Heads() {}

    /**
     * x [B, T, n, D] to [B, n * repeat, T, D], each vector rotated to position {@code start + t} when {@code rope} is
     * not null, and each head repeated {@code repeat} times (keys and values of grouped-query attention).
     */
    public static Variable split(Variable x, RopeKernels.Tables rope, int start, int repeat) {
        Tensor y = HeadKernels.split(x.value(), rope, start, repeat);
        return Variable.result("splitHeads", y,
                g -> new Tensor[] {HeadKernels.splitBackward(g, rope, start, repeat)}, x);
    }

    /** y [B, H, T, D] to [B, T, H * D]. */
    public static Variable merge(Variable y) {
        int[] s = y.shape();
        Tensor out = HeadKernels.merge(y.value());
        return Variable.result("mergeHeads", out,
                g -> new Tensor[] {HeadKernels.split(g.reshape(s[0], s[2], s[1], s[3]), null, 0, 1)}, y);
    }
}
