package org.moe4j.moe;

import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.kernel.TopK;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * AdaMoE's token-adaptive routing (Zeng et al. 2024, "AdaMoE: Token-adaptive routing with null experts for
 * mixture-of-experts language models"): the router scores the real experts plus {@code nullExperts} null slots
 * and takes the top k of all of them; a choice that lands on a null slot computes nothing and adds nothing, so a
 * token uses anywhere from 0 to k real experts and the skipped rows are really skipped.
 *
 * <p>Gates are the softmax probabilities (over all slots) of the chosen real experts, by default divided by the
 * sum over all k chosen slots, null ones included ({@link GateNorm#TOP_K}): a token that spends much of its
 * probability on null slots passes less through its experts. The authors' released code divides by the chosen
 * real experts only ({@link GateNorm#REAL_CHOSEN}); both are offered.
 *
 * <p>Balancing is the router's own: the Switch load-balancing loss taken over all {@code experts + nullExperts}
 * slots and this call's tokens, null slots counting their choices like real experts (as the authors' code does),
 * so the null slots receive their share of the k choices and the mean number of real experts per token stays
 * near {@code k * experts / (experts + nullExperts)}.
 * It is returned as the router loss (weight {@code balanceWeight}, training only). The layer's own balance loss
 * does not apply (the router reports no real-expert probabilities, since its softmax spans the null slots too),
 * and nor does the layer's routing entropy; the layer's z-loss does, over the logits of all slots.
 */
public final class NullExpertRouter extends Module implements Router {
    /** What the chosen real experts' probabilities are divided by. */
    public enum GateNorm {
        /** nothing: gates are the raw probabilities over all slots. */
        NONE,
        /** the sum over the k chosen slots, null ones included (the default). */
        TOP_K,
        /** the sum over the chosen real experts only, as in the authors' released code. */
        REAL_CHOSEN
    }

    /**
     * @param nullExperts   null slots beside the real experts; 0 gives plain top-k
     * @param k             slots each token chooses, null ones included
     * @param balanceWeight weight of the load-balancing loss over all slots; 0 = off
     */
    public record Config(int dim, int experts, int nullExperts, int k, GateNorm norm, double balanceWeight) {
        public Config {
            String self = "null-expert router";
            ConfigChecks.dimAndExperts(self, dim, experts);
            ConfigChecks.atLeast(self, "null experts", nullExperts, 0);
            ConfigChecks.inRange(self, "k (slots, null ones included)", k, 1, experts + nullExperts);
            ConfigChecks.given(self, "gate normalisation", norm);
            ConfigChecks.nonNegative(self, "balance weight", balanceWeight);
        }

        /** Gates normalised over the k chosen slots, balance loss weight 0.01 (the layer's default). */
        public static Config of(int dim, int experts, int nullExperts, int k) {
            return new Config(dim, experts, nullExperts, k, GateNorm.TOP_K, 0.01);
        }

        public Config withNullExperts(int n) {
            return new Config(dim, experts, n, k, norm, balanceWeight);
        }

        public Config withK(int slots) {
            return new Config(dim, experts, nullExperts, slots, norm, balanceWeight);
        }

        public Config withNorm(GateNorm n) {
            return new Config(dim, experts, nullExperts, k, n, balanceWeight);
        }

        public Config withBalanceWeight(double w) {
            return new Config(dim, experts, nullExperts, k, norm, w);
        }

        public int slots() {
            return experts + nullExperts;
        }
    }

    /** As many null slots as experts and twice the layer's k, so a balanced token still averages k real experts. */
    public static final RouterInfo INFO = new RouterInfo("adamoe",
            "Zeng et al. 2024, AdaMoE: Token-adaptive routing with null experts for mixture-of-experts language models",
            "Top-k over the experts plus null experts that compute nothing, so each token uses 0 to k real experts; "
                    + "a load-balancing loss over all slots keeps the mean near the budget.",
            (c, rng) -> new NullExpertRouter(new Config(c.dim(), c.experts(), c.experts(), 2 * c.topK(), GateNorm.TOP_K,
                    c.balanceLossWeight()), rng));

    private final Config config;
    private final Variable weight; // [experts + nullExperts, dim]; rows past experts score the null slots

    public NullExpertRouter(Config config, Rng rng) {
        this.config = config;
        this.weight = parameter("weight", Init.kaimingUniform(rng, config.dim(), config.slots(), config.dim()));
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        int experts = config.experts();
        Variable logits = RouterSupport.logits(x, weight, ctx); // [tokens, slots]
        Variable probs = Losses.softmax(logits, -1);
        IntTensor slot = TopK.topK(logits.value(), config.k(), -1).indices(); // [tokens, k]
        Variable chosen = Indexing.gather(probs, 1, slot); // [tokens, k]
        int[] real = new int[slot.numel()]; // the slot's expert, or -1 for a null slot
        for (int i = 0; i < real.length; i++) real[i] = slot.data()[i] < experts ? slot.data()[i] : -1;
        Variable gates = switch (config.norm()) {
            case NONE -> chosen;
            case TOP_K -> RouterSupport.renormalize(chosen);
            case REAL_CHOSEN -> Arith.div(chosen, realSum(chosen, real));
        };
        Assignments a = RouterSupport.fromChoices(new IntTensor(real, slot.shape()), gates, experts);
        Variable loss = null;
        if (ctx.training() && config.balanceWeight() > 0) {
            int[] load = new int[config.slots()];
            for (int s : slot.data()) load[s]++;
            loss = Arith.mulScalar(BalanceLosses.loadBalance(probs, BalanceLosses.fractions(load)), config.balanceWeight());
        }
        return new RouterOutput.Sparse(a, null, logits, loss);
    }

    /** [tokens, 1]: the summed probability of each token's chosen real experts; 1 for a token with none (no gates). */
    private static Variable realSum(Variable chosen, int[] real) {
        int tokens = chosen.dim(0), k = chosen.dim(1);
        Tensor isReal = chosen.value().newZeros(tokens, k);
        Tensor none = chosen.value().newZeros(tokens, 1);
        for (int t = 0; t < tokens; t++) {
            boolean any = false;
            for (int s = 0; s < k; s++) {
                if (real[t * k + s] >= 0) {
                    isReal.storage().set(t * k + s, 1);
                    any = true;
                }
            }
            if (!any) none.storage().set(t, 1);
        }
        Variable sum = Reductions.sum(Arith.mul(chosen, Variable.constant(isReal)), new int[] {1}, true);
        return Arith.add(sum, Variable.constant(none));
    }

    @Override
    public int experts() {
        return config.experts();
    }

    public Config config() {
        return config;
    }

    /** [experts + nullExperts, dim]: rows 0..experts-1 score the real experts, the rest the null slots. */
    public Variable weight() {
        return weight;
    }
}
