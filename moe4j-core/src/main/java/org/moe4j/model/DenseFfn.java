package org.moe4j.model;

import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.ExpertKind;
import org.moe4j.nn.Linear;
import org.moe4j.nn.Module;

/** One dense feed-forward network of the same forms as an MoE expert: ReLU, GELU or SwiGLU. */
public final class DenseFfn extends Module {
    private final ExpertKind kind;
    private final Linear gate; // [hidden, dim], SwiGLU only, else null
    private final Linear up; // [hidden, dim]
    private final Linear down; // [dim, hidden]

    public DenseFfn(ExpertKind kind, int dim, int hidden, boolean bias, Rng rng) {
        this.kind = kind;
        this.gate = kind == ExpertKind.SWIGLU ? child("gate", new Linear(dim, hidden, false, rng)) : null;
        this.up = child("up", new Linear(dim, hidden, bias, rng));
        this.down = child("down", new Linear(hidden, dim, bias, rng));
    }

    /** x [..., dim] to [..., dim]. */
    public Variable forward(Variable x) {
        Variable h = up.forward(x);
        h = switch (kind) {
            case RELU -> Activations.relu(h);
            case GELU -> Activations.gelu(h);
            case SWIGLU -> Arith.mul(Activations.silu(gate.forward(x)), h);
        };
        return down.forward(h);
    }

    public ExpertKind kind() {
        return kind;
    }
}
