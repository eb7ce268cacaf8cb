package org.moe4j.moe;

import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.kernel.TopK;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Switch routing (Fedus et al. 2021, "Switch Transformers: Scaling to Trillion Parameter Models with Simple and
 * Efficient Sparsity"): each token goes to its single most probable expert, weighted by that softmax probability.
 * In training the router's input is multiplied by uniform jitter U(1 - eps, 1 + eps), element for element.
 *
 * <p>The jitter draws from {@link RoutingContext#rng()}, row-major over the router input. The paper's balance loss
 * is the layer's ({@link MoeConfig#balanceLossWeight()}, 0.01 in the paper), fed by the probabilities returned here.
 */
public final class SwitchRouter extends Module implements Router {
    /** @param jitter eps of the multiplicative input jitter in training, in [0, 1); 0 = none */
    public record Config(int dim, int experts, double jitter) {
        public Config {
            ConfigChecks.dimAndExperts("switch router", dim, experts);
            if (!(jitter >= 0 && jitter < 1)) {
                throw new Moe4jException("switch router: jitter must be in [0, 1), got " + jitter);
            }
        }

        /** The paper's jitter of 1e-2. */
        public static Config of(int dim, int experts) {
            return new Config(dim, experts, 1e-2);
        }

        public Config withJitter(double eps) {
            return new Config(dim, experts, eps);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("switch",
            "Fedus et al. 2021, Switch Transformers: Scaling to Trillion Parameter Models with Simple and Efficient "
                    + "Sparsity",
            "Each token goes to its single most probable expert, weighted by that probability; in training the "
                    + "router input is jittered by a uniform factor near 1.",
            (c, rng) -> new SwitchRouter(Config.of(c.dim(), c.experts()), rng));

    private final Config config;
    private final Variable weight; // [experts, dim]

    public SwitchRouter(Config config, Rng rng) {
        this.config = config;
        this.weight = parameter("weight", Init.kaimingUniform(rng, config.dim(), config.experts(), config.dim()));
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        Variable input = x;
        if (ctx.training() && config.jitter() > 0) {
            Rng rng = RouterSupport.trainingRng(ctx, "switch router", "training jitters the router input (or set jitter 0)");
            double eps = config.jitter();
            Tensor factors = RouterSupport.draws(x.value(), () -> rng.uniform(1 - eps, 1 + eps)); // x's shape
            input = Arith.mul(x, Variable.constant(factors));
        }
        Variable logits = RouterSupport.logits(input, weight, ctx);
        Variable probs = Losses.softmax(logits, -1);
        IntTensor idx = TopK.topK(logits.value(), 1, -1).indices(); // [tokens, 1]; ties to the lower expert
        Variable gates = Indexing.gather(probs, 1, idx);
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
