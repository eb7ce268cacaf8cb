package org.moe4j.moe;

import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.kernel.TopK;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;

/**
 * Softmax top-k gating, as in GShard (Lepikhin et al. 2020) and Mixtral (Jiang et al. 2024): each token goes to
 * the k experts with the highest router logits, weighted by softmax probabilities taken over all experts before
 * the top-k (optionally renormalised over the k) or over the k chosen logits after it.
 */
public final class SoftmaxTopKRouter extends Module implements Router {
    /** Where the softmax is taken. */
    public enum SoftmaxOrder {
        /** softmax over all experts, then top-k (GShard, Qwen-MoE, DeepSeekMoE); gates sum to at most 1. */
        BEFORE_TOP_K,
        /** top-k logits, then softmax over those k (Mixtral); gates sum to 1. */
        AFTER_TOP_K
    }

    /**
     * @param routedScaling multiplies every gate (DeepSeek's routed_scaling_factor; 1 for most models)
     */
    public record Config(int dim, int experts, int k, SoftmaxOrder order, boolean renormalize, double routedScaling) {
        public Config {
            String self = "top-k router";
            ConfigChecks.dimAndExperts(self, dim, experts);
            ConfigChecks.inRange(self, "k", k, 1, experts);
            ConfigChecks.positive(self, "routed scaling", routedScaling);
        }

        /** Softmax before top-k, no renormalisation, scaling 1. */
        public static Config of(int dim, int experts, int k) {
            return new Config(dim, experts, k, SoftmaxOrder.BEFORE_TOP_K, false, 1.0);
        }

        public Config withOrder(SoftmaxOrder o) {
            return new Config(dim, experts, k, o, renormalize, routedScaling);
        }

        public Config withRenormalize(boolean r) {
            return new Config(dim, experts, k, order, r, routedScaling);
        }

        public Config withRoutedScaling(double s) {
            return new Config(dim, experts, k, order, renormalize, s);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("topk",
            "Lepikhin et al. 2020, GShard; Jiang et al. 2024, Mixtral of Experts",
            "Each token goes to its k highest-scoring experts, weighted by softmax probabilities (over all experts "
                    + "before the top-k, or over the k after it).",
            (c, rng) -> new SoftmaxTopKRouter(Config.of(c.dim(), c.experts(), c.topK()), rng));

    private final Config config;
    private final Variable weight; // [experts, dim]

    public SoftmaxTopKRouter(Config config, Rng rng) {
        this.config = config;
        this.weight = parameter("weight", Init.kaimingUniform(rng, config.dim(), config.experts(), config.dim()));
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        Variable logits = RouterSupport.logits(x, weight, ctx);
        Variable probs = Losses.softmax(logits, -1);
        // Selection by logits: softmax is monotonic, and logits break fewer ties by rounding.
        IntTensor idx = TopK.topK(logits.value(), config.k(), -1).indices();
        Variable gates = switch (config.order()) {
            case BEFORE_TOP_K -> {
                Variable g = Indexing.gather(probs, 1, idx);
                yield config.renormalize() ? RouterSupport.renormalize(g) : g;
            }
            case AFTER_TOP_K -> Losses.softmax(Indexing.gather(logits, 1, idx), -1);
        };
        if (config.routedScaling() != 1.0) gates = Arith.mulScalar(gates, config.routedScaling());
        return new RouterOutput.Sparse(RouterSupport.fromChoices(idx, gates, config.experts()), probs, logits, null);
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
