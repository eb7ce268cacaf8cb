package org.moe4j.moe;

import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.Tensor;

/**
 * SMEAR (Muqeeth et al. 2023, "Soft merging of experts with adaptive routing"): instead of sending tokens to
 * experts, each group of tokens runs through one merged expert whose parameters are the router-weighted average
 * of all experts' parameters, so routing is fully differentiable at the cost of one expert per group.
 *
 * <p>A group is a sequence: the rows from one {@link RoutingContext#sequenceStarts() sequence start} to the next
 * (the paper's per-example routing). Without sequence starts every token is its own group, which is exact but
 * costs a merge of all parameters per token, about as much as running every expert on every token. The group's
 * weights are the mean over its tokens of {@code softmax(x W^T)} ({@link Pooling#PROBABILITIES}), or the softmax
 * of the router applied to the group's mean input ({@link Pooling#INPUTS}). The layer builds the merged experts
 * with one GEMM per parameter tensor and runs them as a grouped GEMM; it applies no balance loss, since every
 * expert serves every group.
 */
public final class SmearRouter extends Module implements Router {
    /** How a group's tokens are pooled into one routing decision. */
    public enum Pooling {
        /** mean of the tokens' router probabilities (the default). */
        PROBABILITIES,
        /** router probabilities of the tokens' mean input. */
        INPUTS
    }

    public record Config(int dim, int experts, Pooling pooling) {
        public Config {
            ConfigChecks.dimAndExperts("smear router", dim, experts);
            ConfigChecks.given("smear router", "pooling", pooling);
        }

        /** Probabilities averaged over each sequence. */
        public static Config of(int dim, int experts) {
            return new Config(dim, experts, Pooling.PROBABILITIES);
        }

        public Config withPooling(Pooling p) {
            return new Config(dim, experts, p);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("smear",
            "Muqeeth et al. 2023, Soft merging of experts with adaptive routing",
            "Each sequence runs through one expert whose parameters are the router-weighted average of all experts' "
                    + "parameters: fully differentiable routing at the cost of one expert.",
            (c, rng) -> new SmearRouter(Config.of(c.dim(), c.experts()), rng));

    private final Config config;
    private final Variable weight; // [experts, dim]

    public SmearRouter(Config config, Rng rng) {
        this.config = config;
        this.weight = parameter("weight", Init.kaimingUniform(rng, config.dim(), config.experts(), config.dim()));
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        int tokens = x.dim(0);
        int[] group = groups(ctx, tokens);
        int groups = tokens == 0 ? 0 : group[tokens - 1] + 1;
        Variable weights; // [groups, experts]
        if (groups == tokens) {
            weights = Losses.softmax(RouterSupport.logits(x, weight, ctx), -1);
        } else {
            Variable mean = Variable.constant(meanMatrix(x.value(), group, groups)); // [groups, tokens]
            weights = switch (config.pooling()) {
                case PROBABILITIES -> LinearAlgebra.matmul(mean, Losses.softmax(RouterSupport.logits(x, weight, ctx), -1));
                case INPUTS -> Losses.softmax(RouterSupport.logits(LinearAlgebra.matmul(mean, x), weight, ctx), -1);
            };
        }
        return new RouterOutput.Merged(weights, group, weights);
    }

    /** The group of each token: its sequence, or itself when the context has no sequence starts. */
    private static int[] groups(RoutingContext ctx, int tokens) {
        int[] group = new int[tokens];
        int[] starts = ctx.sequenceStarts();
        if (starts == null) {
            for (int t = 0; t < tokens; t++) group[t] = t;
            return group;
        }
        RoutingContext.checkSequenceStarts("smear router of layer " + ctx.layer(), starts, tokens);
        for (int s = 0; s < starts.length; s++) {
            int end = s + 1 < starts.length ? starts[s + 1] : tokens;
            for (int t = starts[s]; t < end; t++) group[t] = s;
        }
        return group;
    }

    /** [groups, tokens]: row g holds 1/|g| at g's tokens, so a product with it averages over each group. */
    private static Tensor meanMatrix(Tensor like, int[] group, int groups) {
        int tokens = group.length;
        int[] size = new int[groups];
        for (int g : group) size[g]++;
        Tensor m = like.newZeros(groups, tokens);
        for (int t = 0; t < tokens; t++) m.storage().set(group[t] * tokens + t, 1.0 / size[group[t]]);
        return m;
    }

    @Override
    public int experts() {
        return config.experts();
    }

    public Config config() {
        return config;
    }

    public Variable weight() {
        return weight;
    }
}
