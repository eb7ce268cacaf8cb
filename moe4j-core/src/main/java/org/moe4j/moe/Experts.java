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
import org.moe4j.kernel.PackedWeight;
import org.moe4j.kernel.QuantizedMatmul;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.QuantizedTensor;

/**
 * A bank of feed-forward experts with stacked weights, run as grouped GEMMs over rows sorted by expert.
 * All experts share one kind and size; weights use PyTorch's Linear layout per expert. For inference the matrices
 * may be held quantized ({@link #holdQuantized}), stacked as [experts * rows, cols] and run by {@link
 * QuantizedMatmul#grouped}; such experts refuse to record gradients.
 */
public final class Experts extends Module {
    private final ExpertKind kind;
    private final int count;
    private final int dim;
    private final int hidden;
    private Variable up; // [experts, hidden, dim]; for SwiGLU the "up" projection
    private Variable gate; // [experts, hidden, dim]; SwiGLU only, else null
    private Variable down; // [experts, dim, hidden]
    // Inference-only quantized forms, set once while loading (the float parameter is then a placeholder), or null.
    private PackedWeight upQ; // [experts * hidden, dim] in one group per expert
    private PackedWeight gateQ; // [experts * hidden, dim] in one group per expert
    private PackedWeight downQ; // [experts * dim, hidden] in one group per expert
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
        if (isQuantized()) {
            requireInference("experts", upQ != null ? upQ : gateQ != null ? gateQ : downQ);
            return ffnQuantized(rows, offsets);
        }
        return ffn(kind, rows, offsets, up, gate, down, upBias, downBias);
    }

    /** The grouped FFN with each matrix quantized or float as it is held. */
    private Variable ffnQuantized(Variable rows, int[] offsets) {
        Variable h = project(rows, up, upQ, offsets);
        if (upBias != null) h = GroupedMatmul.addBias(h, upBias, offsets);
        h = switch (kind) {
            case RELU -> Activations.relu(h);
            case GELU -> Activations.gelu(h);
            case SWIGLU -> Glu.swiglu(project(rows, gate, gateQ, offsets), h);
        };
        Variable y = project(h, down, downQ, offsets);
        return downBias != null ? GroupedMatmul.addBias(y, downBias, offsets) : y;
    }

    private static Variable project(Variable rows, Variable w, PackedWeight q, int[] offsets) {
        if (q == null) return GroupedMatmul.apply(rows, w, offsets);
        return Variable.result("groupedMatmul", QuantizedMatmul.grouped(rows.value(), q, offsets), null, rows);
    }

    /** Holds "up", "gate" or "down" as stacked quantized rows [experts * rows, cols] for inference (see {@link Module}). */
    @Override
    public void holdQuantized(String name, QuantizedTensor rows) {
        switch (name) {
            case "up" -> {
                upQ = PackedWeight.grouped(rows, count);
                up = quantizeParameter(name, upQ);
            }
            case "gate" -> {
                if (gate == null) throw new Moe4jException("experts: " + kind + " experts have no gate");
                gateQ = PackedWeight.grouped(rows, count);
                gate = quantizeParameter(name, gateQ);
            }
            case "down" -> {
                downQ = PackedWeight.grouped(rows, count);
                down = quantizeParameter(name, downQ);
            }
            default -> super.holdQuantized(name, rows);
        }
    }

    /** Whether any expert matrix is held quantized (inference only). */
    public boolean isQuantized() {
        return upQ != null || gateQ != null || downQ != null;
    }

    /**
     * SMEAR's merged experts: group g runs one expert whose every parameter is {@code sum_e weights[g, e] *
     * param_e}, on rows [R, dim] grouped by {@code offsets} [groups + 1]. Each stacked parameter [experts, ...]
     * is merged by one GEMM, weights [groups, experts] x [experts, numel per expert], so the merge is
     * differentiable in both the weights and the experts.
     */
    public Variable forwardMerged(Variable rows, int[] offsets, Variable weights) {
        if (isQuantized()) {
            throw new Moe4jException("mergedExperts: merging experts needs float weights; these are held quantized");
        }
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
        if (kind == ExpertKind.SWIGLU && upB == null && downB == null) {
            // One op: its SwiGLU runs inside the GEMMs, saving passes over the largest activations.
            return GroupedMatmul.swigluExperts(rows, gateW, upW, downW, offsets);
        }
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
