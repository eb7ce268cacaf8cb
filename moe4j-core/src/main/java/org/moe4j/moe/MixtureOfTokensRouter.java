package org.moe4j.moe;

import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;

/**
 * Mixture of Tokens (Antoniak et al. 2023, "Mixture of Tokens: Efficient LLMs through cross-example
 * aggregation"): within each group of tokens, every expert processes one mixture of the group's tokens, and its
 * output is handed back to the tokens in the same proportions; fully differentiable, with no token dropping.
 *
 * <p>Groups are {@code groupSize} consecutive rows; the number of tokens must be a multiple of it (an error
 * otherwise, no padding). For group g and expert e the mixing weights are {@code softmax_t(x_t . W[e])} over
 * the group's tokens t, expert e's input is {@code sum_t w_te x_t}, and token t receives {@code sum_e w_te
 * FFN_e(input_e)}. Tokens of a group see each other, so the layer is neither causal nor batch invariant within
 * a group: the paper groups tokens from different examples at the same position, which a caller gets by laying
 * rows out position-major (row = position * batch + example) with {@code groupSize} dividing the batch. There is
 * no balance loss (every expert processes every group) and no routing entropy.
 */
public final class MixtureOfTokensRouter extends Module implements Router {
    /** @param groupSize tokens mixed together; consecutive rows */
    public record Config(int dim, int experts, int groupSize) {
        public Config {
            ConfigChecks.dimAndExperts("mixture-of-tokens router", dim, experts);
            ConfigChecks.atLeast("mixture-of-tokens router", "group size", groupSize, 1);
        }

        /** Groups of 4 tokens. */
        public static Config of(int dim, int experts) {
            return new Config(dim, experts, 4);
        }

        public Config withGroupSize(int size) {
            return new Config(dim, experts, size);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("mot",
            "Antoniak et al. 2023, Mixture of Tokens: Efficient LLMs through cross-example aggregation",
            "Each expert processes a softmax-weighted mixture of a group of tokens and hands its output back in the "
                    + "same proportions: dense, differentiable, no dropping; mixes tokens within a group.",
            (c, rng) -> new MixtureOfTokensRouter(Config.of(c.dim(), c.experts()), rng));

    private final Config config;
    private final Variable weight; // [experts, dim]

    public MixtureOfTokensRouter(Config config, Rng rng) {
        this.config = config;
        this.weight = parameter("weight", Init.kaimingUniform(rng, config.dim(), config.experts(), config.dim()));
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        int tokens = x.dim(0), size = config.groupSize();
        if (tokens % size != 0) {
            throw new Moe4jException("mixture-of-tokens router of layer " + ctx.layer() + ": " + tokens
                    + " tokens do not split into groups of " + size + "; pad the batch or choose a group size that"
                    + " divides the token count");
        }
        Variable logits = RouterSupport.logits(x, weight, ctx); // [tokens, experts]
        Variable perGroup = Shaping.transpose(Shaping.reshape(logits, tokens / size, size, config.experts()), 1, 2);
        Variable mixing = Losses.softmax(perGroup, -1); // [groups, experts, size]: over the group's tokens
        return new RouterOutput.TokenMix(mixing, size, null);
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
