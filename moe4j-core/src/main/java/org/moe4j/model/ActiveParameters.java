package org.moe4j.model;

import org.moe4j.moe.BaseRouter;
import org.moe4j.moe.DSelectKRouter;
import org.moe4j.moe.ExpertChoiceRouter;
import org.moe4j.moe.HashRouter;
import org.moe4j.moe.MixtureOfTokensRouter;
import org.moe4j.moe.NoisyTopKRouter;
import org.moe4j.moe.NullExpertRouter;
import org.moe4j.moe.Router;
import org.moe4j.moe.SigmoidBiasRouter;
import org.moe4j.moe.SinkhornRouter;
import org.moe4j.moe.SmearRouter;
import org.moe4j.moe.SoftmaxTopKRouter;
import org.moe4j.moe.SwitchRouter;
import org.moe4j.moe.TopPRouter;

/** How many routed-expert parameters one example uses, per router. */
final class ActiveParameters {
    private ActiveParameters() {}

    /**
     * The experts one token is processed by, on average: k for top-k routers, 1 for Switch, hash and BASE
     * routing and for SMEAR's single merged expert, the capacity factor for expert choice, and E / group size for
     * Mixture of Tokens (each expert processes one mixture per group). Routers whose count varies per token (top-p,
     * null experts) report their cap. A switch over the sealed Router, so a new router must say its own.
     */
    static double expertsPerToken(Router router) {
        return switch (router) {
            case SoftmaxTopKRouter r -> r.config().k();
            case NoisyTopKRouter r -> r.config().k();
            case SwitchRouter r -> 1;
            case HashRouter r -> 1;
            case ExpertChoiceRouter r -> r.config().capacityFactor();
            case BaseRouter r -> 1;
            case SinkhornRouter r -> r.config().k();
            case SigmoidBiasRouter r -> r.config().k();
            case TopPRouter r -> r.config().maxK();
            case NullExpertRouter r -> r.config().k();
            case DSelectKRouter r -> r.config().k();
            case SmearRouter r -> 1;
            case MixtureOfTokensRouter r -> (double) r.experts() / r.config().groupSize();
        };
    }

    /** The active share of {@code routedParams} (all routed experts' parameters, equal per expert). */
    static long routedShare(Router router, long routedParams) {
        long perExpert = routedParams / router.experts();
        return Math.round(expertsPerToken(router) * perExpert);
    }
}
