package org.moe4j.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.Router;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;
import org.moe4j.tensor.DType;

/**
 * An MoE classifier for images [batch, channels, height, width]: a convolutional trunk ({@link ConvTrunkConfig}),
 * optionally convolutional MoE blocks whose experts are conv layers ({@link ConvMoeBlock}, telemetry
 * "trunk.moe0", ...), then flatten and the MoE head ({@link MoeHeadConfig}, telemetry "head.moe0", ...).
 */
public final class MoeCnn extends Module implements Classifier {
    private final MoeCnnConfig config;
    private final ConvTrunk trunk;
    private final List<ConvMoeBlock> convMoe = new ArrayList<>();
    private final Head head;
    private final DType dtype; // of the parameters, fixed when they were drawn

    public MoeCnn(MoeCnnConfig config, Rng rng) {
        this.config = config;
        this.trunk = child("trunk", new ConvTrunk(config.trunk(), rng.split()));
        Rng convRng = rng.split();
        int channels = config.trunk().outputShape()[0];
        for (int i = 0; i < config.convMoe().blocks(); i++) {
            convMoe.add(child("convMoe" + i, new ConvMoeBlock(channels, config.convMoe(), convRng)));
        }
        this.head = child("head", Head.moe(config.trunk().flatSize(), config.head(), config.classes(), rng.split()));
        this.dtype = head.parameters().getFirst().dtype();
    }

    /** x [batch, channels, height, width] to logits [batch, classes], with auxiliary loss and telemetry. */
    @Override
    public ClassifierOutput forward(Variable x, RoutingContext ctx) {
        Inputs.check(config, x, dtype);
        Variable h = trunk.forward(x);
        Variable aux = null;
        List<RouterStats> stats = new ArrayList<>();
        for (int i = 0; i < convMoe.size(); i++) {
            HeadBlock.Output out = convMoe.get(i).forward(h, ctx, trunkLayerName(i));
            h = out.hidden();
            if (out.auxLoss() != null) aux = aux == null ? out.auxLoss() : Arith.add(aux, out.auxLoss());
            stats.add(out.stats());
        }
        return head.forward(Shaping.flatten(h, 1, -1), ctx, aux, stats);
    }

    @Override
    public Map<String, Router> routers() {
        Map<String, Router> routers = new LinkedHashMap<>();
        for (int i = 0; i < convMoe.size(); i++) routers.put(trunkLayerName(i), convMoe.get(i).router());
        routers.putAll(head.routers());
        return routers;
    }

    private static String trunkLayerName(int block) {
        return "trunk.moe" + block;
    }

    @Override
    public MoeCnnConfig config() {
        return config;
    }

    @Override
    public long activeParameterCount() {
        long n = parameterCount() - head.parameterCount() + head.activeParameterCount();
        for (ConvMoeBlock b : convMoe) n += b.activeParameterCount() - b.parameterCount();
        return n;
    }
}
