package org.moe4j.moe;

import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Glu;
import org.moe4j.autograd.GroupedMatmul;
import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
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
        return ffn(kind, rows, offsets, up, gate, down, upBias, downBias);
    }

    /**
     * SMEAR's merged experts: group g runs one expert whose every parameter is {@code sum_e weights[g, e] *
     * param_e}, on rows [R, dim] grouped by {@code offsets} [groups + 1]. Each stacked parameter [experts, ...]
     * is merged by one GEMM, weights [groups, experts] x [experts, numel per expert], so the merge is
     * differentiable in both the weights and the experts.
     */
    public Variable forwardMerged(Variable rows, int[] offsets, Variable weights) {
        if (weights.rank() != 2 || weights.dim(1) != count || weights.dim(0) != offsets.length - 1) {
            throw ShapeException.of("mergedExperts", "weights must be [groups, " + count + "] with groups = offsets - 1",
                    weights.shape(), new int[] {offsets.length});
        }
        return ffn(kind, rows, offsets, merge(weights, up), merge(weights, gate), merge(weights, down),
                merge(weights, upBias), merge(weights, downBias));
    }

    /** weights [groups, experts] times a stacked parameter [experts, ...] gives [groups, ...]; null stays null. */
    private static Variable merge(Variable weights, Variable stacked) {
        if (stacked == null) return null;
        int[] shape = stacked.shape();
        int experts = shape[0];
        Variable flat = Shaping.reshape(stacked, experts, stacked.value().numel() / experts);
        int[] merged = shape.clone();
        merged[0] = weights.dim(0);
        return Shaping.reshape(LinearAlgebra.matmul(weights, flat), merged);
    }

    /** The FFN of {@code kind} with per-group weights: up/gate [groups, hidden, dim], down [groups, dim, hidden]. */
    private static Variable ffn(ExpertKind kind, Variable rows, int[] offsets, Variable upW, Variable gateW,
            Variable downW, Variable upB, Variable downB) {
        Variable h = GroupedMatmul.apply(rows, upW, offsets);
        if (upB != null) h = GroupedMatmul.addBias(h, upB, offsets);
        h = switch (kind) {
            case RELU -> Activations.relu(h);
            case GELU -> Activations.gelu(h);
            case SWIGLU -> Glu.swiglu(GroupedMatmul.apply(rows, gateW, offsets), h);
        };
        Variable y = GroupedMatmul.apply(h, downW, offsets);
        return downB != null ? GroupedMatmul.addBias(y, downB, offsets) : y;
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
