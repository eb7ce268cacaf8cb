package org.moe4j.model;

import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Variable;
import org.moe4j.moe.Router;
import org.moe4j.moe.RoutingContext;

/**
 * A trainable classifier: a batch of inputs to class logits, plus the auxiliary loss and router telemetry of its
 * MoE layers. Training versus inference, and the randomness of dropout and noisy routers, come from the
 * {@link RoutingContext}; the model names its MoE layers itself ({@code "head.moe0"}), so the context's layer
 * name is not used. Models hold only parameters and configuration, so one instance serves many threads.
 */
public sealed interface Classifier permits MoeMlp, DenseMlp, MoeCnn, DenseCnn {
    /** x [batch, ...the config's input shape] to logits [batch, classes]. */
    ClassifierOutput forward(Variable x, RoutingContext ctx);

    /** Inference on x. */
    default ClassifierOutput forward(Variable x) {
        return forward(x, RoutingContext.inference(config().kind()));
    }

    /** The configuration this model was built from; {@code config().build(rng)} rebuilds its architecture. */
    ClassifierConfig config();

    /** Every trainable scalar. */
    long parameterCount();

    /**
     * The parameters one example actually uses: everything outside the routed experts, plus for each MoE layer
     * the parameters of the experts an example is sent to (k of E for top-k routing, the capacity factor for
     * expert choice). Equal to {@link #parameterCount()} for dense models.
     */
    long activeParameterCount();

    /**
     * The routers of the MoE layers by their telemetry name ({@code "head.moe0"}, {@code "trunk.moe0"}), so a
     * trainer can update and save DeepSeek-V3 selection biases; empty for dense models.
     */
    default Map<String, Router> routers() {
        return Map.of();
    }

    /** Every parameter by dotted name ({@code "head.blocks.0.moe.experts.up"}), in a fixed order. */
    Map<String, Variable> namedParameters();

    List<Variable> parameters();

    void zeroGrad();
}
