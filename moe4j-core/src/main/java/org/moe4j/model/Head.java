package org.moe4j.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Dropout;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.Router;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.LayerNorm;
import org.moe4j.nn.Linear;
import org.moe4j.nn.Module;

/**
 * The head every classifier shares: features to width by a Linear and ReLU, residual blocks (MoE or dense),
 * a final LayerNorm, dropout and the classifier Linear. One class for both kinds of block, so the dense
 * baselines have exactly the MoE models' structure.
 */
final class Head extends Module {
    private final Linear proj; // features -> width
    private final List<HeadBlock> blocks = new ArrayList<>();
    private final LayerNorm norm;
    private final Linear classifier; // width -> classes
    private final double dropout;

    private Head(int features, int width, int classes, double dropout, int blockCount,
            java.util.function.Supplier<HeadBlock> block, Rng rng) {
        this.dropout = dropout;
        this.proj = child("proj", new Linear(features, width, true, rng));
        for (int i = 0; i < blockCount; i++) {
            HeadBlock b = block.get();
            child("block" + i, (Module) b);
            blocks.add(b);
        }
        this.norm = child("norm", new LayerNorm(width));
        this.classifier = child("classifier", new Linear(width, classes, true, rng));
    }

    static Head moe(int features, MoeHeadConfig c, int classes, Rng rng) {
        return new Head(features, c.width(), classes, c.dropout(), c.layers(), () -> new MoeBlock(c.router(), c.moe(), rng), rng);
    }

    static Head dense(int features, DenseHeadConfig c, int classes, Rng rng) {
        return new Head(features, c.width(), classes, c.dropout(), c.blocks(), () -> new DenseBlock(c, rng), rng);
    }

    /**
     * features [batch, features] to logits; {@code aux} and {@code stats} carry what earlier MoE layers
     * produced, and the head's own are added ("head.moe0", "head.moe1", ...).
     */
    ClassifierOutput forward(Variable features, RoutingContext ctx, Variable aux, List<RouterStats> stats) {
        List<RouterStats> all = new ArrayList<>(stats);
        Variable h = Activations.relu(proj.forward(features));
        for (int i = 0; i < blocks.size(); i++) {
            HeadBlock.Output out = blocks.get(i).forward(h, ctx, layerName(i), dropout);
            h = out.hidden();
            if (out.auxLoss() != null) aux = aux == null ? out.auxLoss() : Arith.add(aux, out.auxLoss());
            if (out.stats() != null) all.add(out.stats());
        }
        h = Dropout.dropout(norm.forward(h), dropout, ctx.rng(), ctx.training());
        return new ClassifierOutput(classifier.forward(h), aux, all);
    }

    /** Parameters outside the blocks count fully; each block says its own active share. */
    long activeParameterCount() {
        long n = parameterCount();
        for (HeadBlock b : blocks) n += b.activeParameterCount() - b.parameterCount();
        return n;
    }

    /** The MoE blocks' routers by telemetry name. */
    Map<String, Router> routers() {
        Map<String, Router> routers = new LinkedHashMap<>();
        for (int i = 0; i < blocks.size(); i++) {
            if (blocks.get(i) instanceof MoeBlock m) routers.put(layerName(i), m.layer().router());
        }
        return routers;
    }

    private static String layerName(int block) {
        return "head.moe" + block;
    }

    List<HeadBlock> blocks() {
        return List.copyOf(blocks);
    }
}
