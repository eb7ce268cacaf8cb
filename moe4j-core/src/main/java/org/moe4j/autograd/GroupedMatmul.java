package org.moe4j.autograd;

import org.moe4j.common.ShapeException;
import org.moe4j.kernel.DotGemm;
import org.moe4j.kernel.GroupedGemm;
import org.moe4j.tensor.Tensor;

/**
 * Differentiable grouped GEMM (see {@link GroupedGemm}): rows of x in contiguous groups, one weight matrix per
 * group. The expert computation of a dropless MoE layer.
 */
public final class GroupedMatmul {
    private GroupedMatmul() {}

    /**
     * x [rows, in], w [groups, out, in], offsets [groups + 1] to y [rows, out] with y_g = x_g w_g^T. Inference
     * (nothing to record, float32) takes {@link DotGemm#grouped}, so a token's experts give the same bits in any
     * batch.
     */
    public static Variable apply(Variable x, Variable w, int[] offsets) {
        int[] groupOffsets = offsets.clone();
        if (LinearAlgebra.inference(x.value(), w.value(), x, w)) {
            return Variable.result("groupedMatmul", DotGemm.grouped(x.value(), w.value(), groupOffsets), null, x);
        }
        Tensor y = GroupedGemm.forward(x.value(), w.value(), groupOffsets);
        return Variable.result("groupedMatmul", y, g -> new Tensor[] {
                x.requiresGrad() ? GroupedGemm.backwardInput(g, w.value(), groupOffsets) : null,
                w.requiresGrad() ? GroupedGemm.backwardWeight(g, x.value(), groupOffsets) : null}, x, w);
    }

    /** y [rows, out] plus bias row g ([groups, out]) on each row of group g. */
    public static Variable addBias(Variable y, Variable bias, int[] offsets) {
        if (bias.rank() != 2 || bias.dim(0) != offsets.length - 1 || bias.dim(1) != y.dim(1)) {
            throw ShapeException.of("groupedBias", "bias must be [groups, out]", bias.shape(), y.shape());
        }
        int[] groupOffsets = offsets.clone();
        Tensor out = y.value().copy();
        GroupedGemm.addGroupBias(out, bias.value(), groupOffsets);
        return Variable.result("groupedBias", out, g -> new Tensor[] {
                y.requiresGrad() ? g : null,
                bias.requiresGrad() ? GroupedGemm.groupBiasGradient(g, groupOffsets) : null}, y, bias);
    }
}
