package org.moe4j.moe;

import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.kernel.TopK;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;

/**
 * Noisy top-k gating (Shazeer et al. 2017, "Outrageously Large Neural Networks: The Sparsely-Gated
 * Mixture-of-Experts Layer"): in training each logit gets Gaussian noise whose scale is itself learned,
 * {@code H = x Wg + N(0,1) softplus(x Wnoise)}, and each token keeps its top-k of H, softmaxed over those k.
 * At inference there is no noise, so the gates are a plain softmax over the k largest logits.
 *
 * <p>In training the router adds its own auxiliary loss (the paper's section 4 and appendix A):
 * {@code wImportance CV(importance)^2 + wLoad CV(load)^2}, where importance sums each expert's gates over the
 * batch and load sums the smooth probability that an expert is chosen, {@code P(x, i) = Phi((x Wg_i -
 * kth_excluding(H, k, i)) / std_i)}, whose gradient reaches both weight matrices. Noise comes from
 * {@link RoutingContext#rng()}, drawn row-major over [tokens, experts]. As in the paper, both weights start at zero
 * (equal logits, equal noise), and the router gives no probabilities over all experts ({@code probs} is null, so
 * the layer adds no Switch balance loss on top of its own).
 */
public final class NoisyTopKRouter extends Module implements Router {
    /**
     * @param wImportance  weight of the importance loss CV(sum_t gates)^2; 0 = off
     * @param wLoad        weight of the load loss CV(sum_t P)^2; 0 = off
     * @param noiseEpsilon added to softplus(x Wnoise) to keep the noise scale (and the estimator's divisor) away from
     *                     zero, as the authors' own code does (1e-2); 0 gives the paper's equation exactly
     */
    public record Config(int dim, int experts, int k, double wImportance, double wLoad, double noiseEpsilon) {
        public Config {
            String self = "noisy top-k router";
            ConfigChecks.dimAndExperts(self, dim, experts);
            ConfigChecks.inRange(self, "k", k, 1, experts);
            ConfigChecks.nonNegative(self, "importance loss weight", wImportance);
            ConfigChecks.nonNegative(self, "load loss weight", wLoad);
            ConfigChecks.nonNegative(self, "noise epsilon", noiseEpsilon);
        }

        /** The paper's loss weights (0.1 each, appendix A) and noise epsilon 1e-2. */
        public static Config of(int dim, int experts, int k) {
            return new Config(dim, experts, k, 0.1, 0.1, 1e-2);
        }

        public Config withLossWeights(double importance, double load) {
            return new Config(dim, experts, k, importance, load, noiseEpsilon);
        }

        public Config withNoiseEpsilon(double eps) {
            return new Config(dim, experts, k, wImportance, wLoad, eps);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("noisy-topk",
            "Shazeer et al. 2017, Outrageously Large Neural Networks: The Sparsely-Gated Mixture-of-Experts Layer",
            "Each token keeps its k highest logits after learned Gaussian noise in training, softmaxed over the k; "
                    + "importance and smooth load losses keep the experts evenly used.",
            (c, rng) -> new NoisyTopKRouter(Config.of(c.dim(), c.experts(), c.topK())));

    private final Config config;
    private final Variable weight; // [experts, dim] Wg
    private final Variable noiseWeight; // [experts, dim] Wnoise

    public NoisyTopKRouter(Config config) {
        this.config = config;
        this.weight = parameter("weight", Init.constant(0, config.experts(), config.dim()));
        this.noiseWeight = parameter("noiseWeight", Init.constant(0, config.experts(), config.dim()));
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        Variable clean = RouterSupport.logits(x, weight, ctx); // [tokens, experts]
        if (!ctx.training()) {
            IntTensor idx = TopK.topK(clean.value(), config.k(), -1).indices();
            Variable gates = Losses.softmax(Indexing.gather(clean, 1, idx), -1);
            return new RouterOutput.Sparse(RouterSupport.fromChoices(idx, gates, config.experts()), null, clean, null);
        }
        Rng rng = RouterSupport.trainingRng(ctx, "noisy top-k router", "training draws noise");
        Variable std = Arith.addScalar(Activations.softplus(LinearAlgebra.linear(x, noiseWeight, null)),
                config.noiseEpsilon());
        Variable normals = Variable.constant(RouterSupport.draws(clean.value(), rng::normal)); // [tokens, experts]
        Variable noisy = Arith.add(clean, Arith.mul(normals, std));
        RouterSupport.checkFinite(noisy.value(), ctx);
        IntTensor idx = TopK.topK(noisy.value(), config.k(), -1).indices(); // [tokens, k]
        Variable gates = Losses.softmax(Indexing.gather(noisy, 1, idx), -1);
        Variable loss = routerLoss(clean, noisy, std, idx, gates);
        return new RouterOutput.Sparse(RouterSupport.fromChoices(idx, gates, config.experts()), null, clean, loss);
    }

    private Variable routerLoss(Variable clean, Variable noisy, Variable std, IntTensor idx, Variable gates) {
        Variable loss = null;
        if (config.wImportance() > 0) {
            // The gates as a dense [tokens, experts] matrix, zero where an expert was not kept.
            Variable dense = Indexing.scatterAdd(Variable.constant(clean.value().newZeros(clean.shape())), 1, idx, gates);
            loss = Arith.mulScalar(BalanceLosses.importance(dense), config.wImportance());
        }
        // With k = experts every expert is always chosen: P = 1, the load is even and its loss is 0.
        if (config.wLoad() > 0 && config.k() < config.experts()) {
            Variable load = Arith.mulScalar(loadLoss(clean, noisy, std, idx), config.wLoad());
            loss = loss == null ? load : Arith.add(loss, load);
        }
        return loss;
    }

    /**
     * CV(load)^2 with load_i = sum_t P(x_t, i), P as in the paper's equations 8-10. Holding the other experts' noisy
     * logits fixed, expert i is chosen when its own exceeds the k-th largest of the others: for a chosen expert that
     * is the (k+1)-th largest of H overall, for one not chosen the k-th.
     */
    private Variable loadLoss(Variable clean, Variable noisy, Variable std, IntTensor idx) {
        int tokens = clean.dim(0), experts = clean.dim(1), k = config.k();
        Variable top = Indexing.topK(noisy, k + 1, 1).values(); // [tokens, k + 1]
        Variable ifIn = Shaping.narrow(top, 1, k, 1); // [tokens, 1]
        Variable ifOut = Shaping.narrow(top, 1, k - 1, 1); // [tokens, 1]
        int[] chosen = new int[tokens * experts];
        for (int t = 0; t < tokens; t++) {
            for (int s = 0; s < k; s++) chosen[t * experts + idx.data()[t * k + s]] = 1;
        }
        Variable threshold = Indexing.where(new IntTensor(chosen, new int[] {tokens, experts}), ifIn, ifOut);
        Variable p = NormalCdf.apply(Arith.div(Arith.sub(clean, threshold), std)); // [tokens, experts]
        return BalanceLosses.squaredCv(Reductions.sum(p, new int[] {0}, false));
    }

    @Override
    public int experts() {
        return config.experts();
    }

    public Config config() {
        return config;
    }

    /** Wg [experts, dim]. */
    public Variable weight() {
        return weight;
    }

    /** Wnoise [experts, dim]. */
    public Variable noiseWeight() {
        return noiseWeight;
    }
}
