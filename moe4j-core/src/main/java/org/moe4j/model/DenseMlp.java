package org.moe4j.model;

import java.util.List;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;

/** The dense baseline of {@link MoeMlp}: the same structure, each MoE layer replaced by one FFN. */
public final class DenseMlp extends Module implements Classifier {
    private final DenseMlpConfig config;
    private final Head head;

    public DenseMlp(DenseMlpConfig config, Rng rng) {
        this.config = config;
        this.head = child("head", Head.dense(config.inputs(), config.head(), config.classes(), rng.split()));
    }

    /** x [batch, inputs] to logits [batch, classes]; no auxiliary loss, no telemetry. */
    @Override
    public ClassifierOutput forward(Variable x, RoutingContext ctx) {
        Inputs.check(config, x, head.parameters().getFirst().dtype());
        return head.forward(x, ctx, null, List.of());
    }

    @Override
    public DenseMlpConfig config() {
        return config;
    }

    @Override
    public long activeParameterCount() {
        return parameterCount();
    }
}
