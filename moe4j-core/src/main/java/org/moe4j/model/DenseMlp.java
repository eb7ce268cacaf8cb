package org.moe4j.model;

import java.util.List;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;
import org.moe4j.tensor.DType;

/** The dense baseline of {@link MoeMlp}: the same structure, each MoE layer replaced by one FFN. */
public final class DenseMlp extends Module implements Classifier {
    private final DenseMlpConfig config;
    private final Head head;
    private final DType dtype; // of the parameters, fixed when they were drawn

    public DenseMlp(DenseMlpConfig config, Rng rng) {
        this.config = config;
        this.head = child("head", Head.dense(config.inputs(), config.head(), config.classes(), rng.split()));
        this.dtype = head.parameters().getFirst().dtype();
    }

    /** x [batch, inputs] to logits [batch, classes]; no auxiliary loss, no telemetry. */
    @Override
    public ClassifierOutput forward(Variable x, RoutingContext ctx) {
        Inputs.check(config, x, dtype);
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
