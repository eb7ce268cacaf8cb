package org.moe4j.model;

import org.moe4j.moe.ExpertChoiceRouter;
import org.moe4j.moe.HashRouter;
import org.moe4j.moe.NoisyTopKRouter;
import org.moe4j.moe.Router;
import org.moe4j.moe.SoftmaxTopKRouter;
import org.moe4j.moe.SwitchRouter;

/** How many routed-expert parameters one example uses, per router. */
final class ActiveParameters {
    private ActiveParameters() {}

    /**
     * The experts one token is processed by, on average: k for top-k routers, 1 for Switch and hash routing, the
     * capacity factor for expert choice. A switch over the sealed Router, so a new router must say its own.
     */
    static double expertsPerToken(Router router) {
        return switch (router) {
            case SoftmaxTopKRouter r -> r.config().k();
            case NoisyTopKRouter r -> r.config().k();
            case SwitchRouter r -> 1;
            case HashRouter r -> 1;
            case ExpertChoiceRouter r -> r.config().capacityFactor();
        };
    }

    /** The active share of {@code routedParams} (all routed experts' parameters, equal per expert). */
    static long routedShare(Router router, long routedParams) {
        long perExpert = routedParams / router.experts();
        return Math.round(expertsPerToken(router) * perExpert);
    }
}
