package org.moe4j.nn;

import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;

/** The gated feed-forward network of Llama-family models: {@code down(silu(gate x) * up x)}, without biases. */
public final class SwiGlu extends Module {
    private final Linear gate; // [hidden, dim]
    private final Linear up; // [hidden, dim]
    private final Linear down; // [dim, hidden]

    public SwiGlu(int dim, int hidden, Rng rng) {
        this.gate = child("gate", new Linear(dim, hidden, false, rng));
        this.up = child("up", new Linear(dim, hidden, false, rng));
        this.down = child("down", new Linear(hidden, dim, false, rng));
    }

    /** x [..., dim] to [..., dim]. */
    public Variable forward(Variable x) {
        return down.forward(Arith.mul(Activations.silu(gate.forward(x)), up.forward(x)));
    }

    public Linear gate() {
        return gate;
    }

    public Linear up() {
        return up;
    }

    public Linear down() {
        return down;
    }

    public int hidden() {
        return gate.outFeatures();
    }
}
