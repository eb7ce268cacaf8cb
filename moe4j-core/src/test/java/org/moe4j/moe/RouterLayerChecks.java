package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Supplier;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.GradCheck;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/**
 * Checks every router test runs against a whole MoE layer (the naive reference, gradcheck), and the shortcuts for
 * running a layer or a router without a tape.
 */
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
        assertLayerEqualsNaive(layer, x, ctx.get(), upstream,
                () -> ((RouterOutput.Sparse) layer.router().route(x, ctx.get())).assignments());
    }

    /**
     * The layer's output for x under {@code ctx} and {@link NaiveMoe}'s over the assignments {@code naive} gives
     * agree, and so do their gradients of every parameter and of x under {@code upstream}; a gradient one side never
     * reaches must be zero on the other. {@code naive} is called after the layer's pass, to record its own tape.
     */
    static void assertLayerEqualsNaive(MoeLayer layer, Variable x, RoutingContext ctx, Tensor upstream,
            Supplier<Assignments> naive) {
        layer.zeroGrad();
        x.zeroGrad();
        Variable grouped = layer.forward(x, ctx).output();
        grouped.backward(upstream);
        Map<String, Tensor> groupedGrads = grads(layer, x);

        layer.zeroGrad();
        x.zeroGrad();
        Assignments a = naive.get();
        Variable reference = NaiveMoe.routed(layer.experts(), x, a, DispatchPlan.dropless(a));
        reference.backward(upstream);
        Map<String, Tensor> naiveGrads = grads(layer, x);

        TestData.assertClose(reference.value(), grouped.value(), 1e-5, 1e-4);
        Set<String> names = new TreeSet<>(naiveGrads.keySet());
        names.addAll(groupedGrads.keySet());
        for (String name : names) {
            Tensor expected = naiveGrads.get(name), actual = groupedGrads.get(name);
            try {
                TestData.assertClose(expected != null ? expected : actual.newZeros(actual.shape()),
                        actual != null ? actual : expected.newZeros(expected.shape()), 1e-5, 1e-3);
            } catch (AssertionError e) {
                throw new AssertionError("gradient of " + name + ": " + e.getMessage(), e);
            }
        }
    }

    /** Every parameter's gradient (copied) by name, plus x's under "x". */
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

    /**
     * Float64 gradcheck of a (F64) layer over all its parameters and x: of every element of its output, plus its
     * auxiliary loss when there is one, so both gradients are checked.
     */
    static void assertLayerGradcheck(MoeLayer layer, Variable x, Supplier<RoutingContext> ctx) {
        List<Variable> params = new ArrayList<>(layer.parameters());
        params.add(x);
        GradCheck.Result r = GradCheck.checkParameters(() -> {
            MoeOutput out = layer.forward(x, ctx.get());
            Variable y = Shaping.reshape(out.output(), out.output().value().numel());
            return out.auxLoss() == null ? y : Arith.add(y, out.auxLoss());
        }, params);
        assertTrue(r.passed(), r.toString());
    }

    /** The layer's output for x [tokens, dim] without recording a tape. */
    static float[] run(MoeLayer layer, float[] x, int tokens, RoutingContext ctx) {
        try (GradMode scope = GradMode.off()) {
            return layer.forward(Variable.constant(Tensor.of(x, tokens, x.length / tokens)), ctx).output().value()
                    .toFloatArray();
        }
    }

    /** A sparse router's decision for x without recording a tape. */
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
}
