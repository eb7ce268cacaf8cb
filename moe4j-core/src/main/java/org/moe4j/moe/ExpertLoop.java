package org.moe4j.moe;

import java.util.Arrays;
import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.tensor.IntTensor;

/**
 * The routed experts run the way Hugging Face's Mixtral sparse block runs them: for each expert, select its
 * tokens, run the expert as an ordinary dense FFN on its own weights (views of the stacked tensors), scale by
 * the gates and index-add the result back. Built from plain autograd ops only, it is the peer the grouped path
 * is measured against, and an independent check of it.
 */
public final class ExpertLoop {
    private ExpertLoop() {}

    /**
     * The gated sum of expert outputs, [tokens, dim], for x [tokens, dim] and the kept assignments of
     * {@code plan}: the same value and gradients as the grouped path.
     */
    public static Variable apply(Experts experts, Variable x, Assignments a, DispatchPlan plan) {
        if (experts.isQuantized()) {
            throw new org.moe4j.common.Moe4jException("expert loop: the experts are held quantized; use the grouped"
                    + " path (ExpertImpl.GROUPED)");
        }
        int tokens = x.dim(0), dim = x.dim(1);
        int[] offsets = plan.offsets();
        Variable out = Variable.constant(x.value().newZeros(tokens, dim));
        for (int e = 0; e < experts.count(); e++) {
            int from = offsets[e], to = offsets[e + 1];
            if (from == to) continue;
            // The plan lists expert e's kept assignments in assignment order, as torch.where on the expert mask does.
            IntTensor tokenIdx = rows(plan.rowToken(), from, to);
            IntTensor assignmentIdx = rows(plan.rowAssignment(), from, to);
            Variable y = expert(experts, e, Indexing.indexSelect(x, 0, tokenIdx));
            Variable gate = Shaping.reshape(Indexing.indexSelect(a.gates(), 0, assignmentIdx), to - from, 1);
            out = Indexing.indexAdd(out, 0, tokenIdx, Arith.mul(y, gate));
        }
        return out;
    }

    private static IntTensor rows(int[] index, int from, int to) {
        return new IntTensor(Arrays.copyOfRange(index, from, to), new int[] {to - from});
    }

    /** Expert e as a dense FFN on rows [n, dim]. */
    private static Variable expert(Experts experts, int e, Variable rows) {
        Variable h = LinearAlgebra.linear(rows, slice(experts.up(), e), slice(experts.upBias(), e));
        h = switch (experts.kind()) {
            case RELU -> Activations.relu(h);
            case GELU -> Activations.gelu(h);
            case SWIGLU -> Arith.mul(Activations.silu(LinearAlgebra.linear(rows, slice(experts.gate(), e), null)), h);
        };
        return LinearAlgebra.linear(h, slice(experts.down(), e), slice(experts.downBias(), e));
    }

    /** Expert e's slice of a stacked parameter (null stays null), differentiable back into the stack. */
    private static Variable slice(Variable stacked, int e) {
        return stacked == null ? null : Shaping.squeeze(Shaping.narrow(stacked, 0, e, 1), 0);
    }
}
