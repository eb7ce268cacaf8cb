package org.moe4j.moe;

import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.kernel.TopK;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;

/**
 * Sinkhorn routing: S-BASE (Clark et al. 2022, "Unified Scaling Laws for Routed Language Models"), as Megatron-Core's
 * sinkhorn router does it. In training each token takes its top-k experts by the Sinkhorn-balanced matrix of the
 * logits, which evens out the load; at inference it takes the top-k of the plain logits.
 *
 * <p>The balancing only selects: no gradient flows through Sinkhorn. The gates follow Megatron: for k = 1,
 * sigmoid(logit) of the chosen expert; for k > 1, softmax over all experts' logits gathered at the chosen k,
 * not renormalised (so they sum to at most 1). Inference selects by the same monotone activation, i.e. by logits,
 * so a token's experts never depend on the rest of the batch; training does depend on it, by design.
 *
 * <p>The probabilities handed to the layer are softmax(logits) (for telemetry). Megatron refuses an auxiliary
 * balance loss with this router, since Sinkhorn already balances; here the layer's balance-loss weight decides,
 * and 0 gives Megatron's setting.
 */
public final class SinkhornRouter extends Module implements Router {
    /**
     * @param maxIterations Sinkhorn iterations at most, per call
     * @param tolerance     stop once every column sum is within this relative error of tokens / experts
     */
    public record Config(int dim, int experts, int k, int maxIterations, double tolerance) {
        public Config {
            String self = "sinkhorn router";
            ConfigChecks.dimAndExperts(self, dim, experts);
            ConfigChecks.inRange(self, "k", k, 1, experts);
            ConfigChecks.atLeast(self, "maxIterations", maxIterations, 1);
            ConfigChecks.positive(self, "tolerance", tolerance);
        }

        /** {@link Sinkhorn}'s default iterations (100) and tolerance (1e-4, Megatron's). */
        public static Config of(int dim, int experts, int k) {
            return new Config(dim, experts, k, Sinkhorn.DEFAULT_MAX_ITERATIONS, Sinkhorn.DEFAULT_TOLERANCE);
        }

        public Config withK(int newK) {
            return new Config(dim, experts, newK, maxIterations, tolerance);
        }

        public Config withSinkhorn(int iterations, double tol) {
            return new Config(dim, experts, k, iterations, tol);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("sinkhorn",
            "Clark et al. 2022, Unified Scaling Laws for Routed Language Models (S-BASE); Megatron-Core's sinkhorn router",
            "Training picks each token's top-k experts by the Sinkhorn-balanced logits, so the load evens out; "
                    + "inference takes the plain top-k. Gates: sigmoid for k = 1, softmax over all experts for k > 1.",
            (c, rng) -> new SinkhornRouter(Config.of(c.dim(), c.experts(), c.topK()), rng));

    private final Config config;
    private final Variable weight; // [experts, dim]

    public SinkhornRouter(Config config, Rng rng) {
        this.config = config;
        this.weight = parameter("weight", Init.kaimingUniform(rng, config.dim(), config.experts(), config.dim()));
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        Variable logits = RouterSupport.logits(x, weight, ctx);
        int k = config.k();
        // Selection reads the logits' values only, so the balancing carries no gradient.
        IntTensor idx = ctx.training()
                ? Sinkhorn.topK(logits.value(), k, config.maxIterations(), config.tolerance())
                : TopK.topK(logits.value(), k, -1).indices();
        Variable probs = Losses.softmax(logits, -1);
        Variable gates = k == 1 ? Activations.sigmoid(Indexing.gather(logits, 1, idx)) : Indexing.gather(probs, 1, idx);
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
