package org.moe4j.moe;

import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Glu;
import org.moe4j.autograd.GroupedMatmul;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;

/**
 * A bank of feed-forward experts with stacked weights, run as grouped GEMMs over rows sorted by expert.
 * All experts share one kind and size; weights use PyTorch's Linear layout per expert.
 */
public final class Experts extends Module {
    private final ExpertKind kind;
    private final int count;
    private final int dim;
    private final int hidden;
    private final Variable up; // [experts, hidden, dim]; for SwiGLU the "up" projection
    private final Variable gate; // [experts, hidden, dim]; SwiGLU only, else null
    private final Variable down; // [experts, dim, hidden]
    private final Variable upBias; // [experts, hidden], or null
    private final Variable downBias; // [experts, dim], or null

    public Experts(ExpertKind kind, int count, int dim, int hidden, boolean bias, Rng rng) {
        if (count <= 0 || dim <= 0 || hidden <= 0) {
            throw new Moe4jException("experts: count, dim and hidden must be positive, got " + count + ", " + dim + ", " + hidden);
        }
        if (bias && kind == ExpertKind.SWIGLU) throw new Moe4jException("experts: SwiGLU experts have no biases");
        this.kind = kind;
        this.count = count;
        this.dim = dim;
        this.hidden = hidden;
        this.gate = kind == ExpertKind.SWIGLU ? parameter("gate", Init.kaimingUniform(rng, dim, count, hidden, dim)) : null;
        this.up = parameter("up", Init.kaimingUniform(rng, dim, count, hidden, dim));
        this.down = parameter("down", Init.kaimingUniform(rng, hidden, count, dim, hidden));
        this.upBias = bias ? parameter("upBias", Init.kaimingUniform(rng, dim, count, hidden)) : null;
        this.downBias = bias ? parameter("downBias", Init.kaimingUniform(rng, hidden, count, dim)) : null;
    }

    /** Rows [R, dim] grouped by expert ({@code offsets} [count + 1]) to expert outputs [R, dim]. */
    public Variable forward(Variable rows, int[] offsets) {
        Variable h = GroupedMatmul.apply(rows, up, offsets);
        if (upBias != null) h = GroupedMatmul.addBias(h, upBias, offsets);
        h = switch (kind) {
            case RELU -> Activations.relu(h);
            case GELU -> Activations.gelu(h);
            case SWIGLU -> Glu.swiglu(GroupedMatmul.apply(rows, gate, offsets), h);
        };
        Variable y = GroupedMatmul.apply(h, down, offsets);
        return downBias != null ? GroupedMatmul.addBias(y, downBias, offsets) : y;
    }

    public ExpertKind kind() {
        return kind;
    }

    public int count() {
        return count;
    }

    public int dim() {
        return dim;
    }

    public int hidden() {
        return hidden;
    }

    /** Forward FLOPs per row: 2 multiply-adds per weight, over the two (SwiGLU: three) matrices. */
    public long flopsPerRow() {
        return 2L * dim * hidden * (kind == ExpertKind.SWIGLU ? 3 : 2);
    }

    public Variable up() {
        return up;
    }

    public Variable gate() {
        return gate;
    }

    public Variable down() {
        return down;
    }

    public Variable upBias() {
        return upBias;
    }

    public Variable downBias() {
        return downBias;
    }
}
