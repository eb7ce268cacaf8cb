package org.moe4j.autograd;

import org.moe4j.common.ShapeException;
import org.moe4j.kernel.DotGemm;
import org.moe4j.kernel.GluKernels;
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

    /**
     * SwiGLU experts as one op: {@code y_g = (silu(x_g gateW_g^T) * (x_g upW_g^T)) downW_g^T} for x [rows, in],
     * gateW and upW [groups, hidden, in], downW [groups, out, hidden], giving [rows, out]. The same value and
     * gradients as {@link #apply} and {@link Glu#swiglu} composed, with fewer passes over memory when recording:
     * the SwiGLU backward runs inside the GEMM that produces its input gradient (see {@link
     * GroupedGemm#backwardSwiglu}), and x's two gradients are summed by the second GEMM. Without a gradient to
     * record it is the composition (inference: {@link DotGemm}, batch-invariant).
     */
    public static Variable swigluExperts(Variable x, Variable gateW, Variable upW, Variable downW, int[] offsets) {
        boolean record = GradMode.enabled()
                && (x.requiresGrad() || gateW.requiresGrad() || upW.requiresGrad() || downW.requiresGrad());
        if (!record) return apply(Glu.swiglu(apply(x, gateW, offsets), apply(x, upW, offsets)), downW, offsets);
        int[] o = offsets.clone();
        Tensor xv = x.value(), gw = gateW.value(), uw = upW.value(), dw = downW.value();
        if (!gw.sameShape(uw) || dw.rank() != 3 || gw.rank() != 3 || dw.dim(0) != gw.dim(0) || dw.dim(2) != gw.dim(1)) {
            throw ShapeException.of("swigluExperts", "needs gate and up weights [groups, hidden, in] and down weights "
                    + "[groups, out, hidden]", gw.shape(), uw.shape(), dw.shape());
        }
        // (The forward's SwiGLU as an epilogue of the gate GEMM measured no faster than this separate pass.)
        Tensor up = GroupedGemm.forward(xv, uw, o), gate = GroupedGemm.forward(xv, gw, o);
        Tensor h = GluKernels.swiglu(gate, up);
        Tensor y = GroupedGemm.forward(h, dw, o);
        return Variable.result("swigluExperts", y, dy -> {
            Tensor dDown = downW.requiresGrad() ? GroupedGemm.backwardWeight(dy, h, o) : null;
            Tensor dx = null, dGate = null, dUp = null;
            if (x.requiresGrad() || gateW.requiresGrad() || upW.requiresGrad()) {
                Tensor[] d = GroupedGemm.backwardSwiglu(dy, dw, gate, up, o);
                if (x.requiresGrad()) {
                    dx = GroupedGemm.backwardInput(d[0], gw, o);
                    GroupedGemm.backwardInputAdd(d[1], uw, o, dx);
                }
                if (gateW.requiresGrad()) dGate = GroupedGemm.backwardWeight(d[0], xv, o);
                if (upW.requiresGrad()) dUp = GroupedGemm.backwardWeight(d[1], xv, o);
            }
            return new Tensor[] {dx, dGate, dUp, dDown};
        }, x, gateW, upW, downW);
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
