package org.moe4j.moe;

import org.moe4j.autograd.Variable;

/**
 * Decides which experts see which tokens. One sealed family, so the MoE layer knows every kind of decision it
 * may receive; each implementation's Javadoc names its paper.
 */
public sealed interface Router
        permits SoftmaxTopKRouter, NoisyTopKRouter, SwitchRouter, ExpertChoiceRouter, HashRouter, BaseRouter,
                SinkhornRouter, SigmoidBiasRouter, TopPRouter, NullExpertRouter, DSelectKRouter, SmearRouter,
                MixtureOfTokensRouter {
    /** Routes x [tokens, dim]. */
    RouterOutput route(Variable x, RoutingContext ctx);

    /** How many real experts the router chooses among. */
    int experts();

    /** Per-expert selection biases (DeepSeek-V3's auxiliary-loss-free balancing) for telemetry; null if none. */
    default double[] selectionBias() {
        return null;
    }
}
