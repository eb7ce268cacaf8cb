package org.moe4j.moe;

import java.util.Arrays;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;

/**
 * Expert-choice routing (Zhou et al. 2022, "Mixture-of-Experts with Expert Choice Routing"): experts choose
 * tokens instead of tokens choosing experts. Each expert takes the {@code c = ceil(tokens * capacityFactor / experts)}
 * tokens with the highest softmax probability for it, weighted by that probability, so every expert is exactly
 * full and a token may be processed by anywhere from none to all of the experts.
 *
 * <p>Not batch invariant, by design: a token's experts depend on the other tokens in the batch (whether they
 * outscore it), so the same request can route differently in a different batch. The layer's dropless dispatch
 * takes any number of assignments per token; the load is balanced by construction, so no balance loss is needed.
 */
public final class ExpertChoiceRouter extends Module implements Router {
    /** @param capacityFactor the average number of experts per token (the paper's c; 2 in its main runs) */
    public record Config(int dim, int experts, double capacityFactor) {
        public Config {
            ConfigChecks.dimAndExperts("expert-choice router", dim, experts);
            ConfigChecks.positive("expert-choice router", "capacity factor", capacityFactor);
        }

        public Config withCapacityFactor(double factor) {
            return new Config(dim, experts, factor);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("expert-choice",
            "Zhou et al. 2022, Mixture-of-Experts with Expert Choice Routing",
            "Each expert takes its top tokens by softmax probability, as many as the capacity factor allows, so every "
                    + "expert is exactly full and a token may go to several experts or none.",
            (c, rng) -> new ExpertChoiceRouter(new Config(c.dim(), c.experts(), c.topK()), rng));

    private final Config config;
    private final Variable weight; // [experts, dim]

    public ExpertChoiceRouter(Config config, Rng rng) {
        this.config = config;
        this.weight = parameter("weight", Init.kaimingUniform(rng, config.dim(), config.experts(), config.dim()));
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        Variable logits = RouterSupport.logits(x, weight, ctx);
        Variable probs = Losses.softmax(logits, -1); // [tokens, experts]
        int tokens = probs.dim(0), experts = config.experts();
        int capacity = ExpertChoice.capacity(tokens, experts, config.capacityFactor());
        ExpertChoice.Selection s = ExpertChoice.select(probs.value(), capacity);
        int[] choice = new int[tokens * experts]; // [tokens, experts]: e where expert e took the token, else -1
        Arrays.fill(choice, -1);
        for (int i = 0; i < s.size(); i++) choice[s.token()[i] * experts + s.expert()[i]] = s.expert()[i];
        Assignments a = RouterSupport.fromChoices(new IntTensor(choice, new int[] {tokens, experts}), probs, experts);
        return new RouterOutput.Sparse(a, probs, logits, null);
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
