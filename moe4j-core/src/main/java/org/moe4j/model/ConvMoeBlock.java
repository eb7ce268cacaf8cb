package org.moe4j.model;

import java.util.ArrayList;
import java.util.List;
import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.moe.Assignments;
import org.moe4j.moe.BalanceLosses;
import org.moe4j.moe.DispatchPlan;
import org.moe4j.moe.MoeConfig;
import org.moe4j.moe.Router;
import org.moe4j.moe.RouterOutput;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.Routers;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Conv2d;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;

/**
 * A convolutional MoE block whose experts are 3x3 convolutions: {@code relu(x + sum_e g_e(x) conv_e(x))}, the
 * gates from a router over the image's globally average-pooled features, each image sent to its top-k experts.
 *
 * <p>This follows CondConv (Yang et al. 2019, "CondConv: Conditionally Parameterized Convolutions for Efficient
 * Inference"): per-example routing weights computed from global average pooling, and a mixture of E
 * convolution kernels, which CondConv shows equals a mixture of E convolution experts' outputs. Where CondConv
 * mixes all E kernels with sigmoid weights, this block uses sparse top-k gating (Shazeer et al. 2017), the
 * per-image sparse routing among convolutional experts that MoE-CNNs use (Zhang et al. 2023, "Robust
 * Mixture-of-Expert Training for Convolutional Neural Networks"): images are grouped by expert, each expert
 * convolves only its images, and the gated outputs are summed back into their images. Any router of the catalog
 * that makes sparse assignments can be used; its balance loss is the Switch loss on the pooled features.
 */
final class ConvMoeBlock extends Module {
    private final Router router;
    private final List<Conv2d> experts = new ArrayList<>();
    private final double balanceLossWeight;

    ConvMoeBlock(int channels, ConvMoeConfig config, Rng rng) {
        // The router sees pooled [images, channels]; the hidden width in this config is not used by routers.
        MoeConfig routing = MoeConfig.of(channels, channels, config.experts(), config.topK());
        this.router = Routers.create(config.router(), routing, rng);
        child("router", (Module) router);
        for (int e = 0; e < config.experts(); e++) {
            experts.add(child("expert" + e, new Conv2d(channels, channels, 3, 1, 1, true, rng)));
        }
        this.balanceLossWeight = config.balanceLossWeight();
    }

    HeadBlock.Output forward(Variable x, RoutingContext ctx, String name) {
        RoutingContext layerCtx = ctx.withLayer(name);
        int images = x.dim(0);
        Variable pooled = Reductions.mean(x, new int[] {2, 3}, false); // [images, channels]
        RouterOutput routed = router.route(pooled, layerCtx);
        if (!(routed instanceof RouterOutput.Sparse s)) {
            throw new Moe4jException("conv moe block " + name + ": router " + router.getClass().getSimpleName()
                    + " does not make sparse assignments");
        }
        Assignments a = s.assignments();
        DispatchPlan plan = DispatchPlan.dropless(a);
        Variable rows = Indexing.indexSelect(x, 0, ids(plan.rowToken())); // [R, C, H, W], grouped by expert
        List<Variable> outs = new ArrayList<>();
        int[] off = plan.offsets();
        for (int e = 0; e < experts.size(); e++) {
            if (off[e + 1] > off[e]) outs.add(experts.get(e).forward(Shaping.narrow(rows, 0, off[e], off[e + 1] - off[e])));
        }
        Variable expertOut = outs.size() == 1 ? outs.getFirst() : Shaping.concat(0, outs.toArray(Variable[]::new));
        Variable rowGates = Shaping.reshape(Indexing.indexSelect(a.gates(), 0, ids(plan.rowAssignment())),
                plan.rows(), 1, 1, 1);
        Variable zeros = Variable.constant(x.value().newZeros(x.shape()));
        Variable mixed = Indexing.indexAdd(zeros, 0, ids(plan.rowToken()), Arith.mul(expertOut, rowGates));
        Variable y = Activations.relu(Arith.add(x, mixed));

        Variable aux = s.routerLoss();
        if (balanceLossWeight > 0 && s.probs() != null && ctx.training()) {
            Variable balance = Arith.mulScalar(BalanceLosses.loadBalance(s.probs(),
                    BalanceLosses.fractions(a.loadPerExpert())), balanceLossWeight);
            aux = aux == null ? balance : Arith.add(aux, balance);
        }
        return new HeadBlock.Output(y, aux, stats(name, images, a, s));
    }

    private RouterStats stats(String name, int images, Assignments a, RouterOutput.Sparse s) {
        int[] load = a.loadPerExpert();
        long[] routed = new long[load.length];
        for (int e = 0; e < load.length; e++) routed[e] = load[e];
        double entropy = 0;
        long measured = 0;
        if (s.probs() != null) {
            double[] p = s.probs().value().toDoubleArray();
            int experts = load.length;
            for (int t = 0; t < images; t++) {
                for (int e = 0; e < experts; e++) {
                    double q = p[t * experts + e];
                    if (q > 0) entropy -= q * Math.log(q);
                }
            }
            measured = images;
        }
        return new RouterStats(name, images, routed, new long[load.length], entropy, measured, router.selectionBias());
    }

    private static IntTensor ids(int[] v) {
        return new IntTensor(v, new int[] {v.length});
    }

    long activeParameterCount() {
        long routedParams = 0;
        for (Conv2d c : experts) routedParams += c.parameterCount();
        return parameterCount() - routedParams + ActiveParameters.routedShare(router, routedParams);
    }

    Router router() {
        return router;
    }
}
