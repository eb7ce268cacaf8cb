package org.moe4j.moe;

import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;

/**
 * BASE layers (Lewis et al. 2021, "BASE Layers: Simplifying Training of Large, Sparse Models"). In training each
 * token goes to exactly one expert by a balanced assignment that maximises the total token-expert score x . w_e, so
 * the experts share the tokens equally without any auxiliary loss; at inference each token takes its best expert.
 *
 * <p>The gate is sigmoid(x . w_e) of the chosen expert: the paper scales the expert's output by it, and it is the
 * only path by which the expert embeddings w_e learn, since the assignment itself is discrete. Inference is greedy
 * (no balancing), so a token's expert never depends on the rest of the batch.
 *
 * <p>When the tokens do not split evenly (T tokens, E experts, T not a multiple of E), each expert takes at most
 * ceil(T / E) tokens and the assignment is the best one under that cap: loads never exceed ceil(T / E), but the
 * E * ceil(T / E) - T spare places fall wherever the scores leave them, so an expert may take fewer than
 * floor(T / E). With T a multiple of E every expert takes exactly T / E.
 *
 * <p>The probabilities handed to the layer are softmax(x . W^T), for the entropy telemetry; a Switch balance loss
 * on them is constant in training when T is a multiple of E (the load fractions are uniform), so it adds nothing
 * there.
 */
public final class BaseRouter extends Module implements Router {
    /**
     * @param dim     model width
     * @param experts experts, each with one embedding w_e of width dim
     */
    public record Config(int dim, int experts) {
        public Config {
            ConfigChecks.dimAndExperts("BASE router", dim, experts);
        }

        public Config withDim(int d) {
            return new Config(d, experts);
        }

        public Config withExperts(int e) {
            return new Config(dim, e);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("base",
            "Lewis et al. 2021, BASE Layers: Simplifying Training of Large, Sparse Models",
            "Training solves a balanced assignment so every expert takes the same number of tokens, one expert per "
                    + "token; inference takes each token's best expert. The output is scaled by sigmoid(x . w_e).",
            (c, rng) -> new BaseRouter(new Config(c.dim(), c.experts()), rng));

    private final Config config;
    private final Variable weight; // [experts, dim] the expert embeddings w_e

    public BaseRouter(Config config, Rng rng) {
        this.config = config;
        this.weight = parameter("weight", Init.kaimingUniform(rng, config.dim(), config.experts(), config.dim()));
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        Variable logits = RouterSupport.logits(x, weight, ctx);
        int tokens = logits.dim(0), experts = config.experts();
        float[] scores = logits.value().toFloatArray();
        int[] choice = ctx.training()
                ? BalancedAssignment.assign(scores, tokens, experts, capacity(tokens, experts))
                : BalancedAssignment.greedy(scores, tokens, experts);
        IntTensor idx = new IntTensor(choice, new int[] {tokens, 1});
        Variable gates = Activations.sigmoid(Indexing.gather(logits, 1, idx));
        return new RouterOutput.Sparse(RouterSupport.fromChoices(idx, gates, experts), Losses.softmax(logits, -1),
                logits, null);
    }

    /** Places per expert in training: ceil(tokens / experts), which is exactly tokens / experts when it divides. */
    public static int capacity(int tokens, int experts) {
        return (tokens + experts - 1) / experts;
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
