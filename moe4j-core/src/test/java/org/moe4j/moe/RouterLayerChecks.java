package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Supplier;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.GradCheck;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/** Checks every router test runs against a whole MoE layer: the naive reference, gradcheck, hand-built experts. */
final class RouterLayerChecks {
    private RouterLayerChecks() {}

    /**
     * The grouped dropless layer and {@link NaiveMoe} on the router's own decision agree in output and in every
     * gradient (parameters and input), for each expert kind.
     */
    static void assertGroupedEqualsNaive(Function<Rng, Router> router, MoeConfig base, int tokens, RoutingContext ctx) {
        Rng rng = new Rng(17);
        for (ExpertKind kind : ExpertKind.values()) {
            MoeConfig config = base.withExpertKind(kind, kind != ExpertKind.SWIGLU);
            MoeLayer layer = new MoeLayer(config, router.apply(rng), rng);
            Variable x = Variable.parameter(TestData.randn(rng, tokens, config.dim()));
            assertGroupedEqualsNaive(layer, x, () -> ctx, TestData.randn(rng, tokens, config.dim()));
        }
    }

    /**
     * The grouped dropless layer and {@link NaiveMoe} agree on output and on every gradient, the router's weight
     * included. {@code ctx} must route identically on each call (a fresh, equally seeded Rng for noisy routers).
     */
    static void assertGroupedEqualsNaive(MoeLayer layer, Variable x, Supplier<RoutingContext> ctx, Tensor upstream) {
        layer.zeroGrad();
        x.zeroGrad();
        Variable grouped = layer.forward(x, ctx.get()).output();
        grouped.backward(upstream);
        Map<String, Tensor> groupedGrads = grads(layer, x);

        layer.zeroGrad();
        x.zeroGrad();
        RouterOutput.Sparse s = (RouterOutput.Sparse) layer.router().route(x, ctx.get());
        Variable naive = NaiveMoe.routed(layer.experts(), x, s.assignments(), DispatchPlan.dropless(s.assignments()));
        naive.backward(upstream);
        Map<String, Tensor> naiveGrads = grads(layer, x);

        TestData.assertClose(naive.value(), grouped.value(), 1e-5, 1e-4);
        assertEquals(naiveGrads.keySet(), groupedGrads.keySet());
        for (String name : naiveGrads.keySet()) {
            TestData.assertClose(naiveGrads.get(name), groupedGrads.get(name), 1e-5, 1e-3);
        }
    }

    private static Map<String, Tensor> grads(MoeLayer layer, Variable x) {
        Map<String, Tensor> out = new TreeMap<>();
        layer.namedParameters().forEach((name, p) -> {
            if (p.grad() != null) out.put(name, p.grad().copy());
        });
        out.put("x", x.grad().copy());
        return out;
    }

    /** Float64 gradcheck of the layer's output and auxiliary loss together, over every parameter and the input. */
    static void assertLayerGradcheck(Function<Rng, Router> router, MoeConfig config, int tokens, RoutingContext ctx) {
        Rng rng = new Rng(5);
        try (Init.DTypeScope scope = Init.withDType(DType.F64)) {
            MoeLayer layer = new MoeLayer(config, router.apply(rng), rng);
            assertLayerGradcheck(layer, Variable.parameter(TestData.randn64(rng, tokens, config.dim())), () -> ctx);
        }
    }

    /** Float64 gradcheck of a (F64) layer's output and auxiliary loss over all its parameters and x. */
    static void assertLayerGradcheck(MoeLayer layer, Variable x, Supplier<RoutingContext> ctx) {
        List<Variable> params = new ArrayList<>(layer.parameters());
        params.add(x);
        GradCheck.Result r = GradCheck.checkParameters(() -> {
            MoeOutput out = layer.forward(x, ctx.get());
            Variable y = Reductions.sum(out.output(), 1, false);
            return out.auxLoss() == null ? y : Arith.add(y, out.auxLoss());
        }, params);
        assertTrue(r.passed(), r.toString());
    }

    /** Expert e of {@link #scaledReluLayer} multiplies a non-negative token by SCALES[e]. */
    static final float[] SCALES = {2, 3, 5};

    /** dim 2, three ReLU experts: expert e has up = SCALES[e] I and down = I, routing top-k. */
    static MoeLayer scaledReluLayer(Router router, int topK) {
        return handBuiltTopK(router, 2, topK, SCALES);
    }

    /** ReLU experts of width dim where expert e multiplies its input by scale[e] (up = scale I, down = I). */
    static MoeConfig reluConfig(int dim, int experts, int k) {
        return MoeConfig.of(dim, dim, experts, k).withExpertKind(ExpertKind.RELU, false);
    }

    static MoeLayer handBuilt(Router router, int dim, float... scale) {
        return handBuiltTopK(router, dim, 1, scale);
    }

    /** ReLU experts of width dim, expert e scaling by scale[e], routing top-k. */
    static MoeLayer handBuiltTopK(Router router, int dim, int topK, float... scale) {
        MoeLayer layer = new MoeLayer(reluConfig(dim, scale.length, topK), router, new Rng(3));
        Tensor up = layer.experts().up().value(), down = layer.experts().down().value();
        for (int e = 0; e < scale.length; e++) {
            for (int i = 0; i < dim; i++) {
                for (int j = 0; j < dim; j++) {
                    up.set(i == j ? scale[e] : 0, e, i, j);
                    down.set(i == j ? 1 : 0, e, i, j);
                }
            }
        }
        return layer;
    }

    /** Sets a router weight [experts, dim] from row-major values. */
    static void setWeight(Variable weight, float... rowMajor) {
        assertEquals(weight.value().numel(), rowMajor.length, "weight values");
        weight.value().copyFrom(Tensor.of(rowMajor, weight.shape()));
    }

    /** The layer's output for x [tokens, dim] without recording a tape. */
    static float[] run(MoeLayer layer, float[] x, int tokens, RoutingContext ctx) {
        try (GradMode scope = GradMode.off()) {
            return layer.forward(Variable.constant(Tensor.of(x, tokens, x.length / tokens)), ctx).output().value()
                    .toFloatArray();
        }
    }

    static RouterOutput.Sparse route(Router router, Tensor x, RoutingContext ctx) {
        try (GradMode scope = GradMode.off()) {
            return (RouterOutput.Sparse) router.route(Variable.constant(x), ctx);
        }
    }

    /** Coefficient of variation (population std / mean) of a load vector. */
    static double cv(long[] load) {
        double mean = 0;
        for (long l : load) mean += l;
        mean /= load.length;
        double var = 0;
        for (long l : load) var += (l - mean) * (l - mean);
        return Math.sqrt(var / load.length) / mean;
    }

    static double cv(int[] load) {
        long[] l = new long[load.length];
        for (int e = 0; e < l.length; e++) l[e] = load[e];
        return cv(l);
    }

    /**
     * Tokens x [tokens, dim] leaning along the first axis (x_0 = 2 + noise), the input a skewed router sees: with
     * {@link #skew} on its weight, expert 0 wins most tokens under plain top-k.
     */
    static Tensor leaningTokens(Rng rng, int tokens, int dim) {
        Tensor x = TestData.randn(rng, tokens, dim);
        for (int t = 0; t < tokens; t++) x.set(x.get(t, 0) + 2, t, 0);
        return x;
    }

    /** Adds {@code amount} to weight[0, 0], so expert 0's logit grows with x_0. */
    static void skew(Variable weight, float amount) {
        Tensor w = weight.value();
        w.set(w.get(0, 0) + amount, 0, 0);
    }
}
