package org.moe4j.model;

import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Dropout;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.LayerNorm;
import org.moe4j.nn.Module;

/** The dense counterpart of {@link MoeBlock}: {@code h + dropout(ffn(layerNorm(h)))}. */
final class DenseBlock extends Module implements HeadBlock {
    private final LayerNorm norm;
    private final DenseFfn ffn;

    DenseBlock(DenseHeadConfig config, Rng rng) {
        this.norm = child("norm", new LayerNorm(config.width()));
        this.ffn = child("ffn", new DenseFfn(config.kind(), config.width(), config.hidden(), config.bias(), rng));
    }

    @Override
    public Output forward(Variable h, RoutingContext ctx, String name, double dropout) {
        Variable y = Arith.add(h, Dropout.dropout(ffn.forward(norm.forward(h)), dropout, ctx.rng(), ctx.training()));
        return new Output(y, null, null);
    }

    @Override
    public long activeParameterCount() {
        return parameterCount();
    }
}
