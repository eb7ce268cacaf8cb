package org.moe4j.train;

import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Variable;
import org.moe4j.moe.Router;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;

/**
 * What the {@link Trainer} needs from a classifier: its module (parameters and buffers for the optimizer and the
 * checkpoint), a forward pass to logits with the weighted auxiliary loss and router telemetry, and the routers
 * whose selection biases the trainer updates after each step and saves (by the layer name their telemetry carries).
 */
public interface TrainableModel {
    /** The module holding every parameter and buffer. */
    Module module();

    /** x [batch, ...] to logits [batch, classes], the already weighted auxiliary loss (or null) and telemetry. */
    Output forward(Variable x, RoutingContext ctx);

    /** Routers by the layer name of their {@link RouterStats}; those with selection biases are updated and saved. */
    default Map<String, Router> routers() {
        return Map.of();
    }

    /**
     * One forward pass.
     *
     * @param logits  [batch, classes]
     * @param auxLoss scalar, already weighted; null when the model has none
     * @param stats   one per MoE layer, in layer order
     */
    record Output(Variable logits, Variable auxLoss, List<RouterStats> stats) {
        public Output {
            stats = List.copyOf(stats);
        }
    }
}
