package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.GradCheck;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/** Checks every router's tests share: hand-built scaled experts, grouped vs naive layer, whole-layer gradcheck. */
final class RouterLayerChecks {
    /** Expert e of {@link #scaledReluLayer} multiplies a non-negative token by SCALES[e]. */
    static final float[] SCALES = {2, 3, 5};

    private RouterLayerChecks() {}

    /** dim 2, three ReLU experts: expert e has up = SCALES[e] I and down = I. */
    static MoeLayer scaledReluLayer(Router router, int topK) {
        MoeConfig config = MoeConfig.of(2, 2, 3, topK).withExpertKind(ExpertKind.RELU, false);
        MoeLayer layer = new MoeLayer(config, router, new Rng(1));
        Tensor up = layer.experts().up().value(), down = layer.experts().down().value();
        for (int e = 0; e < 3; e++) {
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    up.set(i == j ? SCALES[e] : 0, e, i, j);
                    down.set(i == j ? 1 : 0, e, i, j);
                }
            }
        }
        return layer;
    }

    /** The layer's output for {@code tokens} rows of dim 2, without recording. */
    static float[] run(MoeLayer layer, float[] x, int tokens, RoutingContext ctx) {
        try (GradMode scope = GradMode.off()) {
            return layer.forward(Variable.constant(Tensor.of(x, tokens, 2)), ctx).output().value().toFloatArray();
        }
    }

    /**
     * The grouped dropless layer and {@link NaiveMoe} agree on output and on every gradient (router included).
     * {@code ctx} must route identically on each call (a fresh, equally seeded Rng for noisy routers).
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
            assertNotNull(groupedGrads.get(name), name);
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
}
