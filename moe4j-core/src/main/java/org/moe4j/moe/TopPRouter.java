package org.moe4j.moe;

import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.kernel.TopK;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;

/**
 * Top-p (dynamic) routing of Huang et al. 2024, "Harder Tasks Need More Experts: Dynamic Routing in MoE Models":
 * each token takes experts in descending router probability until their summed probability reaches the threshold
 * p, so a confident token uses one expert and an uncertain one several.
 *
 * <p>Probabilities are softmax(x . W^T). The selection is the shortest prefix of the descending order (ties to the
 * lower index) whose sum is at least p, capped at {@code maxK} experts. The gates are the selected probabilities
 * themselves, not renormalised, as in the paper and its released code (so they sum to at least p, or less at the
 * cap). The released code keeps the expert whose addition first makes the sum exceed p, i.e. a strict {@code > p};
 * this uses {@code >= p}, which differs only when a prefix sums to exactly p.
 *
 * <p>The default threshold 0.4 is the one in the paper's released configuration. Without a counterweight a router
 * could spread its probability to recruit more experts; the paper's dynamic loss, the entropy of each token's
 * router distribution averaged over tokens, pushes it toward sharp choices. It is this router's
 * {@code routerLoss} in training, times {@code dynamicLossWeight}.
 */
public final class TopPRouter extends Module implements Router {
    /** The threshold of the paper's released configuration ({@code top_p_threshold = 0.4}). */
    public static final double DEFAULT_THRESHOLD = 0.4;
    /**
     * Weight of the dynamic (entropy) loss by default: the paper's beta as we read it (1e-4, beside a balance loss
     * weight of 1e-2); the released code is inference-only and does not confirm it.
     */
    public static final double DEFAULT_DYNAMIC_LOSS_WEIGHT = 1e-4;

    /**
     * @param threshold         p in (0, 1]: the probability mass each token's experts must reach
     * @param maxK              at most this many experts per token, 1..experts
     * @param dynamicLossWeight weight of the entropy loss in training; 0 = off
     */
    public record Config(int dim, int experts, double threshold, int maxK, double dynamicLossWeight) {
        public Config {
            String self = "top-p router";
            ConfigChecks.dimAndExperts(self, dim, experts);
            if (!(threshold > 0 && threshold <= 1)) {
                throw new Moe4jException(self + ": threshold p must be in (0, 1], got " + threshold);
            }
            ConfigChecks.inRange(self, "maxK", maxK, 1, experts);
            ConfigChecks.nonNegative(self, "dynamic loss weight", dynamicLossWeight);
        }

        /** Threshold 0.4, no cap (maxK = experts), dynamic loss weight 1e-4. */
        public static Config of(int dim, int experts) {
            return new Config(dim, experts, DEFAULT_THRESHOLD, experts, DEFAULT_DYNAMIC_LOSS_WEIGHT);
        }

        public Config withThreshold(double p) {
            return new Config(dim, experts, p, maxK, dynamicLossWeight);
        }

        public Config withMaxK(int cap) {
            return new Config(dim, experts, threshold, cap, dynamicLossWeight);
        }

        public Config withDynamicLossWeight(double w) {
            return new Config(dim, experts, threshold, maxK, w);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("topp",
            "Huang et al. 2024, Harder Tasks Need More Experts: Dynamic Routing in MoE Models",
            "Each token takes experts in descending probability until their probabilities sum to p (0.4), so "
                    + "uncertain tokens get more experts; an entropy loss keeps the router from spreading out.",
            (c, rng) -> new TopPRouter(Config.of(c.dim(), c.experts()), rng));

    private final Config config;
    private final Variable weight; // [experts, dim]

    public TopPRouter(Config config, Rng rng) {
        this.config = config;
        this.weight = parameter("weight", Init.kaimingUniform(rng, config.dim(), config.experts(), config.dim()));
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        Variable logits = RouterSupport.logits(x, weight, ctx);
        Variable probs = Losses.softmax(logits, -1); // [tokens, experts]
        int tokens = logits.dim(0), experts = config.experts(), cap = config.maxK();
        TopK.Result top = TopK.topK(probs.value(), cap, -1); // [tokens, cap], descending
        double[] p = top.values().toDoubleArray();
        int[] choice = top.indices().data().clone(); // the prefix each token takes; -1 past it
        for (int t = 0; t < tokens; t++) {
            double mass = 0;
            int n = 0;
            while (n < cap && mass < config.threshold()) mass += p[t * cap + n++];
            for (int s = n; s < cap; s++) choice[t * cap + s] = -1;
        }
        Variable gates = Indexing.gather(probs, 1, top.indices());
        Assignments routed = RouterSupport.fromChoices(new IntTensor(choice, top.indices().shape()), gates, experts);
        return new RouterOutput.Sparse(routed, probs, logits, dynamicLoss(probs, logits, ctx));
    }

    /** weight * mean over tokens of the entropy -sum_e p_e log p_e; null outside training or when the weight is 0. */
    private Variable dynamicLoss(Variable probs, Variable logits, RoutingContext ctx) {
        if (!ctx.training() || config.dynamicLossWeight() == 0) return null;
        // log p from the log-softmax of the logits, which stays finite where p underflows to 0.
        Variable plogp = Reductions.sum(Arith.mul(probs, Losses.logSoftmax(logits, -1)), 1, false);
        return Arith.mulScalar(Reductions.mean(plogp), -config.dynamicLossWeight());
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
