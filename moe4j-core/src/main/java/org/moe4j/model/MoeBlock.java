package org.moe4j.model;

import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Dropout;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.MoeConfig;
import org.moe4j.moe.MoeLayer;
import org.moe4j.moe.MoeOutput;
import org.moe4j.moe.Routers;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.LayerNorm;
import org.moe4j.nn.Module;

/** A pre-norm residual MoE block: {@code h + dropout(moe(layerNorm(h)))}. */
final class MoeBlock extends Module implements HeadBlock {
    private final LayerNorm norm;
    private final MoeLayer moe;

    MoeBlock(String router, MoeConfig config, Rng rng) {
        this.norm = child("norm", new LayerNorm(config.dim()));
        this.moe = child("moe", new MoeLayer(config, Routers.create(router, config, rng), rng));
    }

    @Override
    public Output forward(Variable h, RoutingContext ctx, String name, double dropout) {
        MoeOutput out = moe.forward(norm.forward(h), ctx.withLayer(name));
        Variable y = Arith.add(h, Dropout.dropout(out.output(), dropout, ctx.rng(), ctx.training()));
        return new Output(y, out.auxLoss(), out.stats());
    }

    @Override
    public long activeParameterCount() {
        long routed = moe.experts().parameterCount();
        return parameterCount() - routed + ActiveParameters.routedShare(moe.router(), routed);
    }

    MoeLayer layer() {
        return moe;
    }
}
