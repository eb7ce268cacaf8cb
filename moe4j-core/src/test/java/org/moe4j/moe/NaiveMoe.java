package org.moe4j.moe;

import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.tensor.IntTensor;

/**
 * The MoE layer written the slow, obvious way: one token and one assignment at a time, each expert's weights
 * sliced out of the stacked tensors, with ordinary autograd ops. Tests hold the grouped dropless path to it.
 */
final class NaiveMoe {
    private NaiveMoe() {}

    /** Routed-expert output [tokens, dim] for the kept assignments of {@code plan} (all of them when dropless). */
    static Variable routed(Experts experts, Variable x, Assignments a, DispatchPlan plan) {
        int tokens = x.dim(0), dim = x.dim(1);
        Variable out = Variable.constant(x.value().newZeros(tokens, dim));
        for (int r = 0; r < plan.rows(); r++) {
            int i = plan.rowAssignment()[r];
            int t = a.token()[i], e = a.expert()[i];
            Variable y = expert(experts, e, Shaping.narrow(x, 0, t, 1));
            Variable gate = Shaping.narrow(a.gates(), 0, i, 1);
            out = Indexing.indexAdd(out, 0, IntTensor.of(t), Arith.mul(y, gate));
        }
        return out;
    }

    /** One expert on one row [1, dim]. */
    static Variable expert(Experts experts, int e, Variable row) {
        Variable h = LinearAlgebra.linear(row, slice(experts.up(), e), experts.upBias() == null ? null : slice(experts.upBias(), e));
        h = switch (experts.kind()) {
            case RELU -> Activations.relu(h);
            case GELU -> Activations.gelu(h);
            case SWIGLU -> Arith.mul(Activations.silu(LinearAlgebra.linear(row, slice(experts.gate(), e), null)), h);
        };
        return LinearAlgebra.linear(h, slice(experts.down(), e), experts.downBias() == null ? null : slice(experts.downBias(), e));
    }

    /** Expert e's slice of a stacked parameter, differentiable back into the stack. */
    static Variable slice(Variable stacked, int e) {
        return Shaping.squeeze(Shaping.narrow(stacked, 0, e, 1), 0);
    }

    /** Assignments that send every token to every expert with gates {@code w} [tokens, experts]: the dense MoE. */
    static Assignments dense(Variable w) {
        int tokens = w.dim(0), experts = w.dim(1);
        int[] token = new int[tokens * experts], expert = new int[tokens * experts];
        for (int i = 0; i < token.length; i++) {
            token[i] = i / experts;
            expert[i] = i % experts;
        }
        return new Assignments(tokens, experts, token, expert, Shaping.reshape(w, tokens * experts),
                new float[tokens * experts]);
    }
}
