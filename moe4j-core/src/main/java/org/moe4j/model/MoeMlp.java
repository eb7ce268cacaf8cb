package org.moe4j.model;

import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.Router;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;
import org.moe4j.tensor.DType;

/**
 * An MoE classifier for vectors and tabular data: {@code inputs -> Linear -> ReLU -> [h + moe(layerNorm(h))] x
 * layers -> LayerNorm -> Linear -> classes}, with any router of the catalog ({@link MoeHeadConfig}).
 */
public final class MoeMlp extends Module implements Classifier {
    private final MoeMlpConfig config;
    private final Head head;
    private final DType dtype; // of the parameters, fixed when they were drawn

    public MoeMlp(MoeMlpConfig config, Rng rng) {
        this.config = config;
        this.head = child("head", Head.moe(config.inputs(), config.head(), config.classes(), rng.split()));
        this.dtype = head.parameters().getFirst().dtype();
    }

    /** x [batch, inputs] to logits [batch, classes], with the MoE layers' auxiliary loss and telemetry. */
    @Override
    public ClassifierOutput forward(Variable x, RoutingContext ctx) {
        Inputs.check(config, x, dtype);
        return head.forward(x, ctx, null, List.of());
    }

    @Override
    public MoeMlpConfig config() {
        return config;
    }

    @Override
    public Map<String, Router> routers() {
        return head.routers();
    }

    @Override
    public long activeParameterCount() {
        return head.activeParameterCount();
    }
}
