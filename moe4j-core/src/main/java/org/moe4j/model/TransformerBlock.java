package org.moe4j.model;

import java.util.List;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.kernel.RopeKernels;
import org.moe4j.moe.MoeLayer;
import org.moe4j.moe.MoeOutput;
import org.moe4j.moe.Router;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.Routers;
import org.moe4j.moe.RoutingContext;
import org.moe4j.moe.SoftmaxTopKRouter;
import org.moe4j.nn.Module;
import org.moe4j.nn.RmsNorm;
import org.moe4j.nn.SwiGlu;

/**
 * One pre-norm decoder block: {@code h = x + attention(norm(x))}, then {@code h + ffn(norm(h))}, where the
 * feed-forward network is a MoE layer of SwiGLU experts or, in dense layers, one SwiGLU FFN.
 */
public final class TransformerBlock extends Module {
    private final RmsNorm attentionNorm;
    private final GroupedQueryAttention attention;
    private final RmsNorm ffnNorm;
    private final MoeLayer moe; // or null in a dense layer
    private final SwiGlu dense; // or null in a MoE layer

    /** What a block hands on: the residual stream, and the MoE layer's auxiliary loss and telemetry (or null). */
    public record Output(Variable x, Variable auxLoss, RouterStats stats) {}

    public TransformerBlock(TransformerConfig c, int index, Rng rng) {
        this.attentionNorm = child("attentionNorm", new RmsNorm(c.dModel(), c.rmsEps()));
        this.attention = child("attention", new GroupedQueryAttention(c, rng));
        this.ffnNorm = child("ffnNorm", new RmsNorm(c.dModel(), c.rmsEps()));
        if (c.isMoeLayer(index)) {
            this.moe = child("mlp", new MoeLayer(c.moeConfig(), router(c, rng), rng));
            this.dense = null;
        } else {
            this.moe = null;
            this.dense = child("mlp", new SwiGlu(c.dModel(), c.denseHidden(), rng));
        }
    }

    /** The "topk" router with the config's softmax order and renormalisation; any other by its catalog defaults. */
    private static Router router(TransformerConfig c, Rng rng) {
        if (c.router().equals(TransformerConfig.DEFAULT_ROUTER)) {
            return new SoftmaxTopKRouter(new SoftmaxTopKRouter.Config(c.dModel(), c.experts(), c.topK(),
                    c.routerSoftmax(), c.normTopKProb(), 1.0), rng);
        }
        return Routers.create(c.router(), c.moeConfig(), rng);
    }

    /** x [B, T, dModel], every sequence from position 0. */
    public Output forward(Variable x, RopeKernels.Tables rope, RoutingContext ctx) {
        Variable h = Arith.add(x, attention.forward(attentionNorm.forward(x), rope));
        return feedForward(h, ctx);
    }

    /**
     * x [N, dModel], the next positions of several sequences (rows {@code rowStarts[s] ..} belong to
     * {@code caches.get(s)}): attention per sequence, the feed-forward network over all rows at once.
     */
    Output forwardCached(Variable x, RopeKernels.Tables rope, List<KvCache> caches, int[] rowStarts, int layer,
            RoutingContext ctx) {
        Variable h = Arith.add(x, attention.forwardCached(attentionNorm.forward(x), rope, caches, rowStarts, layer));
        return feedForward(h, ctx);
    }

    private Output feedForward(Variable h, RoutingContext ctx) {
        Variable n = ffnNorm.forward(h);
        if (dense != null) return new Output(Arith.add(h, dense.forward(n)), null, null);
        MoeOutput m = moe.forward(n, ctx);
        return new Output(Arith.add(h, m.output()), m.auxLoss(), m.stats());
    }

    public RmsNorm attentionNorm() {
        return attentionNorm;
    }

    public GroupedQueryAttention attention() {
        return attention;
    }

    public RmsNorm ffnNorm() {
        return ffnNorm;
    }

    /** The MoE layer, or null in a dense layer. */
    public MoeLayer moe() {
        return moe;
    }

    /** The dense FFN, or null in a MoE layer. */
    public SwiGlu dense() {
        return dense;
    }
}
