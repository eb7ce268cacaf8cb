package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/** The per-expert loop (the benchmark's peer) and the grouped path agree on outputs and on every gradient. */
class ExpertLoopTest {

    private record Run(Tensor output, Map<String, Tensor> grads) {}

    private static Run run(MoeLayer layer, Tensor input, Tensor upstream, RoutingContext ctx, ExpertImpl impl) {
        layer.zeroGrad();
        Variable x = Variable.parameter(input.copy());
        MoeOutput out = layer.forward(x, ctx, impl);
        out.output().backward(upstream);
        Map<String, Tensor> grads = new TreeMap<>();
        layer.namedParameters().forEach((name, p) -> {
            if (p.grad() != null) grads.put(name, p.grad().copy());
        });
        grads.put("x", x.grad().copy());
        return new Run(out.output().value().copy(), grads);
    }

    private static void assertSame(Run grouped, Run loop, String what) {
        TestData.assertClose(grouped.output(), loop.output(), 1e-5, 1e-4);
        assertEquals(grouped.grads().keySet(), loop.grads().keySet(), what);
        for (Map.Entry<String, Tensor> g : grouped.grads().entrySet()) {
            assertNotNull(loop.grads().get(g.getKey()), what + " " + g.getKey());
            TestData.assertClose(g.getValue(), loop.grads().get(g.getKey()), 1e-5, 1e-3);
        }
    }

    @Test
    void loopEqualsGroupedForEveryExpertKindForwardAndBackward() {
        Rng rng = new Rng(11);
        for (ExpertKind kind : ExpertKind.values()) {
            // 17 tokens over 6 experts with top-2: odd sizes, and some experts may get no token at all.
            MoeConfig config = MoeConfig.of(13, 19, 6, 2).withExpertKind(kind, kind != ExpertKind.SWIGLU);
            MoeLayer layer = new MoeLayer(config, new SoftmaxTopKRouter(SoftmaxTopKRouter.Config.of(13, 6, 2), rng), rng);
            Tensor x = TestData.randn(rng, 17, 13);
            Tensor upstream = TestData.randn(rng, 17, 13);
            RoutingContext ctx = RoutingContext.inference("moe");
            assertSame(run(layer, x, upstream, ctx, ExpertImpl.GROUPED), run(layer, x, upstream, ctx, ExpertImpl.LOOP),
                    kind.toString());
        }
    }

    @Test
    void loopDropsWhatTheCapacityPlanDrops() {
        Rng rng = new Rng(12);
        MoeConfig config = MoeConfig.of(8, 10, 4, 2).withCapacity(0.5, 0, DropOrder.SCORE);
        MoeLayer layer = new MoeLayer(config, new SoftmaxTopKRouter(SoftmaxTopKRouter.Config.of(8, 4, 2), rng), rng);
        Tensor x = TestData.randn(rng, 3, 5, 8); // batch axes are flattened the same way on both paths
        Tensor upstream = TestData.randn(rng, 3, 5, 8);
        RoutingContext ctx = RoutingContext.training("moe", new Rng(3));
        MoeOutput probe = layer.forward(Variable.constant(x), ctx);
        assertTrue(probe.stats().totalDropped() > 0, "capacity 0.5 must drop assignments");
        assertSame(run(layer, x, upstream, ctx, ExpertImpl.GROUPED), run(layer, x, upstream, ctx, ExpertImpl.LOOP),
                "capacity");
    }

    @Test
    void groupedIsTheDefault() {
        Rng rng = new Rng(13);
        MoeLayer layer = new MoeLayer(MoeConfig.of(4, 6, 3, 1),
                new SoftmaxTopKRouter(SoftmaxTopKRouter.Config.of(4, 3, 1), rng), rng);
        Tensor x = TestData.randn(rng, 5, 4);
        RoutingContext ctx = RoutingContext.inference("moe");
        float[] byDefault = layer.forward(Variable.constant(x), ctx).output().value().toFloatArray();
        float[] grouped = layer.forward(Variable.constant(x), ctx, ExpertImpl.GROUPED).output().value().toFloatArray();
        org.junit.jupiter.api.Assertions.assertArrayEquals(grouped, byDefault);
    }
}
