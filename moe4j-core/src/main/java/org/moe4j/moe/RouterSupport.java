package org.moe4j.moe;

import java.util.function.DoubleSupplier;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Steps the routers share: the gate projection with its NaN check, per-token choices turned into assignments, the
 * renormalisation of chosen gates, and the seeded draws of routers that add randomness in training.
 */
final class RouterSupport {
    private RouterSupport() {}

    /** Router logits x W^T [tokens, experts]; NaN or Inf is an error naming the layer and the token. */
    static Variable logits(Variable x, Variable weight, RoutingContext ctx) {
        Variable logits = LinearAlgebra.linear(x, weight, null);
        checkFinite(logits.value(), ctx);
        return logits;
    }

    static void checkFinite(Tensor logits, RoutingContext ctx) {
        int experts = logits.dim(-1);
        double[] v = logits.toDoubleArray();
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) {
                throw new Moe4jException("router of layer " + ctx.layer() + " produced " + v[i] + " for token "
                        + i / experts + ", expert " + i % experts
                        + ": the layer's input or router weights have diverged (lower the learning rate, clip gradients,"
                        + " or add the router z-loss)");
            }
        }
    }

    /**
     * Assignments from per-token choices: token t's slot s goes to {@code idx[t, s]} with gate {@code gates[t, s]},
     * preferred by that gate when capacity forces drops. Slots whose index is negative (null experts, no choice)
     * are left out, so a router whose tokens take varying numbers of experts marks the rest of each row -1.
     */
    static Assignments fromChoices(IntTensor idx, Variable gates, int experts) {
        int tokens = idx.dim(0), k = idx.dim(1);
        int kept = 0;
        for (int e : idx.data()) if (e >= 0) kept++;
        Variable flat = Shaping.reshape(gates, tokens * k);
        int[] token = new int[kept], expert = new int[kept], slot = new int[kept];
        int a = 0;
        for (int t = 0; t < tokens; t++) {
            for (int s = 0; s < k; s++) {
                int e = idx.data()[t * k + s];
                if (e < 0) continue;
                token[a] = t;
                expert[a] = e;
                slot[a++] = t * k + s;
            }
        }
        Variable g = kept == tokens * k ? flat : Indexing.indexSelect(flat, 0, IntTensor.of(slot));
        float[] score = g.value().toFloatArray();
        return new Assignments(tokens, experts, token, expert, g, score);
    }

    /**
     * Each token's chosen gates [tokens, k] divided by their sum, so they sum to 1. The 1e-20 on the sum is
     * DeepSeek-V3's: a row of underflowed sigmoid scores gives zeros, not NaN; against a sum of chosen softmax
     * probabilities (at least 1/experts) it is negligible.
     */
    static Variable renormalize(Variable gates) {
        return Arith.div(gates, Arith.addScalar(Reductions.sum(gates, 1, true), 1e-20));
    }

    /** The context's Rng, for a router that draws in training; without one, an error naming the router and layer. */
    static Rng trainingRng(RoutingContext ctx, String router, String why) {
        if (ctx.rng() == null) {
            throw new Moe4jException(router + " of layer " + ctx.layer() + ": " + why + ", so the routing context needs an"
                    + " Rng (RoutingContext.training(layer, rng))");
        }
        return ctx.rng();
    }

    /** A fresh tensor of {@code like}'s shape and dtype filled row-major from {@code draw}, so a seed fixes it. */
    static Tensor draws(Tensor like, DoubleSupplier draw) {
        Tensor t = like.newZeros(like.shape());
        for (int i = 0; i < t.numel(); i++) t.storage().set(i, draw.getAsDouble());
        return t;
    }
}
