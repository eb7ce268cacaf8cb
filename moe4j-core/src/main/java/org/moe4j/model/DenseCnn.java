package org.moe4j.model;

import java.util.List;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;
import org.moe4j.tensor.DType;

/** The dense baseline of {@link MoeCnn}: the same trunk, and a head whose MoE layers are single FFNs. */
public final class DenseCnn extends Module implements Classifier {
    private final DenseCnnConfig config;
    private final ConvTrunk trunk;
    private final Head head;
    private final DType dtype; // of the parameters, fixed when they were drawn

    public DenseCnn(DenseCnnConfig config, Rng rng) {
        this.config = config;
        this.trunk = child("trunk", new ConvTrunk(config.trunk(), rng.split()));
        this.head = child("head", Head.dense(config.trunk().flatSize(), config.head(), config.classes(), rng.split()));
        this.dtype = head.parameters().getFirst().dtype();
    }

    /** x [batch, channels, height, width] to logits [batch, classes]. */
    @Override
    public ClassifierOutput forward(Variable x, RoutingContext ctx) {
        Inputs.check(config, x, dtype);
        Variable features = Shaping.flatten(trunk.forward(x), 1, -1);
        return head.forward(features, ctx, null, List.of());
    }

    @Override
    public DenseCnnConfig config() {
        return config;
    }

    @Override
    public long activeParameterCount() {
        return parameterCount();
    }
}
