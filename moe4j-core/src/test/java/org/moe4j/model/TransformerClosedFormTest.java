package org.moe4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.RoutingContext;
import org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/** Hand-built weights whose outputs have closed forms: attention with rotary positions, and the MoE block. */
class TransformerClosedFormTest {
    private static final double THETA = 100;

    /** One layer, one head of width 4, d_model 8 (the first half feeds q and k, the second half v). */
    private static TransformerConfig attentionConfig() {
        return TransformerConfig.tiny().withDModel(8).withLayers(1).withAttention(1, 1, 4).withRopeTheta(THETA)
                .withMaxSeqLen(16);
    }

    /** q = k = x[0..4), v = x[4..8), o writes the head into x[0..4). */
    private static GroupedQueryAttention selectingAttention(TransformerConfig c) {
        GroupedQueryAttention a = new GroupedQueryAttention(c, new Rng(1));
        Tensor q = a.q().weight().value(), k = a.k().weight().value(), v = a.v().weight().value(),
                o = a.o().weight().value();
        for (Tensor w : new Tensor[] {q, k, v, o}) Arrays.fill(w.floats(), 0f);
        for (int i = 0; i < 4; i++) {
            q.set(1, i, i);
            k.set(1, i, i);
            v.set(1, i, 4 + i);
            o.set(1, i, i);
        }
        return a;
    }

    /**
     * With the same vector u as query and key at every position, RoPE makes the score of query i for key j
     * {@code sum_f (u_f^2 + u_{f+2}^2) cos((i - j) w_f) / sqrt(4)}: a function of the distance alone. The output
     * is the softmax-weighted sum of the values w_j over j <= i.
     */
    @Test
    void ropeScoresDependOnlyOnTheDistanceBetweenPositions() {
        TransformerConfig c = attentionConfig();
        GroupedQueryAttention attention = selectingAttention(c);
        int t = 6;
        double[] u = {0.9, -0.4, 0.3, 1.2};
        Rng rng = new Rng(4);
        float[] x = new float[t * 8];
        double[][] w = new double[t][4];
        for (int j = 0; j < t; j++) {
            for (int f = 0; f < 4; f++) {
                x[j * 8 + f] = (float) u[f];
                w[j][f] = rng.normal();
                x[j * 8 + 4 + f] = (float) w[j][f];
            }
        }
        double[] expected = new double[t * 8];
        for (int i = 0; i < t; i++) {
            double[] s = new double[i + 1];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j <= i; j++) {
                for (int f = 0; f < 2; f++) {
                    double freq = Math.pow(THETA, -2.0 * f / 4);
                    s[j] += (u[f] * u[f] + u[f + 2] * u[f + 2]) * Math.cos((i - j) * freq);
                }
                s[j] /= 2; // sqrt(head dim)
                max = Math.max(max, s[j]);
            }
            for (int j = 0; j <= i; j++) sum += s[j] = Math.exp(s[j] - max);
            for (int j = 0; j <= i; j++) {
                for (int f = 0; f < 4; f++) expected[i * 8 + f] += s[j] / sum * w[j][f];
            }
        }
        try (GradMode off = GradMode.off()) {
            Tensor full = attention.forward(Variable.constant(Tensor.of(x, 1, t, 8)), ropeOf(c)).value();
            TestData.assertClose(expected, full.toDoubleArray(), 1e-5, 1e-5);
            // The cached path: the first 4 positions at once, then one at a time.
            KvCache cache = new KvCache(c, 2);
            double[] incremental = new double[t * 8];
            int[][] steps = {{0, 4}, {4, 1}, {5, 1}};
            for (int[] step : steps) {
                Variable part = Variable.constant(Tensor.of(Arrays.copyOfRange(x, step[0] * 8, (step[0] + step[1]) * 8),
                        step[1], 8));
                cache.reserve(step[1]);
                float[] y = attention.forwardCached(part, ropeOf(c), cache, 0).value().toFloatArray();
                cache.advance(step[1]);
                for (int i = 0; i < y.length; i++) incremental[step[0] * 8 + i] = y[i];
            }
            TestData.assertClose(expected, incremental, 1e-5, 1e-5);
        }
    }

    private static org.moe4j.kernel.RopeKernels.Tables ropeOf(TransformerConfig c) {
        return org.moe4j.kernel.RopeKernels.Tables.of(c.headDim(), c.ropeTheta(), c.maxSeqLen());
    }

    /** Four query heads over two key/value heads equal four heads whose k and v weights repeat in pairs. */
    @Test
    void groupedHeadsEqualRepeatedHeads() {
        TransformerConfig grouped = TransformerConfig.tiny().withLayers(1).withAttention(4, 2, 16)
                .withQkNorm(QkNorm.PER_HEAD);
        TransformerConfig plain = grouped.withAttention(4, 4, 16);
        GroupedQueryAttention g = new GroupedQueryAttention(grouped, new Rng(2));
        GroupedQueryAttention p = new GroupedQueryAttention(plain, new Rng(3));
        p.q().weight().value().copyFrom(g.q().weight().value());
        p.o().weight().value().copyFrom(g.o().weight().value());
        p.qNorm().weight().value().copyFrom(TestData.uniform(new Rng(5), 0.5, 1.5, 16));
        g.qNorm().weight().value().copyFrom(p.qNorm().weight().value());
        g.kNorm().weight().value().copyFrom(TestData.uniform(new Rng(6), 0.5, 1.5, 16));
        p.kNorm().weight().value().copyFrom(g.kNorm().weight().value());
        for (int h = 0; h < 4; h++) {
            p.k().weight().value().narrow(0, h * 16, 16).copyFrom(g.k().weight().value().narrow(0, h / 2 * 16, 16));
            p.v().weight().value().narrow(0, h * 16, 16).copyFrom(g.v().weight().value().narrow(0, h / 2 * 16, 16));
        }
        Variable x = Variable.constant(TestData.randn(new Rng(7), 2, 5, 64));
        try (GradMode off = GradMode.off()) {
            var rope = ropeOf(grouped);
            TestData.assertClose(p.forward(x, rope).value(), g.forward(x, rope).value(), 1e-6, 1e-5);
        }
    }

    /**
     * A MoE block with attention switched off (o = 0, so h = x), three SwiGLU experts with gate = I, up = s_e I and
     * down = I (expert e maps n to s_e silu(n) n), a router whose logits are the first three coordinates of n =
     * rmsnorm(x), and a shared expert (s = 1) scaled by sigmoid(w . n). The block's output is then
     * {@code x + sum over the chosen e of gate_e s_e silu(n) n + sigmoid(w . n) silu(n) n}.
     */
    @Test
    void moeBlockOutputIsTheResidualPlusGatedScaledExperts() {
        double[] scale = {2, 3, 5};
        double[] sharedW = {0.5, -1, 0.25, 2};
        for (int k : new int[] {1, 2}) {
            for (boolean renorm : new boolean[] {false, true}) {
                TransformerConfig c = TransformerConfig.tiny().withDModel(4).withLayers(1).withAttention(1, 1, 4)
                        .withMoe(3, k, 4).withRouter("topk", SoftmaxOrder.BEFORE_TOP_K, renorm).withShared(1, 4, true);
                TransformerBlock block = new TransformerBlock(c, 0, new Rng(1));
                Arrays.fill(block.attention().o().weight().value().floats(), 0f);
                var moe = block.moe();
                Tensor router = ((org.moe4j.nn.Module) moe.router()).namedParameters().get("weight").value(); // [3, 4]
                Arrays.fill(router.floats(), 0f);
                for (int e = 0; e < 3; e++) router.set(1, e, e);
                for (int e = 0; e < 3; e++) setDiagonal(moe.experts().gate().value(), e, 1, moe.experts().up().value(),
                        scale[e], moe.experts().down().value());
                setDiagonal(moe.shared().gate().value(), 0, 1, moe.shared().up().value(), 1, moe.shared().down().value());
                Tensor gateW = moe.namedParameters().get("sharedGate").value(); // [1, 4]
                for (int i = 0; i < 4; i++) gateW.set(sharedW[i], 0, i);

                Tensor x = TestData.randn(new Rng(8 + k), 2, 3, 4);
                double[] expected = expectedMoeBlock(x.toDoubleArray(), scale, sharedW, k, renorm, c.rmsEps());
                try (GradMode off = GradMode.off()) {
                    TransformerBlock.Output out = block.forward(Variable.constant(x), ropeOf(c),
                            RoutingContext.inference("moe"));
                    TestData.assertClose(expected, out.x().value().toDoubleArray(), 1e-5, 1e-5);
                    assertEquals(6L * k, out.stats().totalRouted());
                }
            }
        }
    }

    /** Sets expert e's gate to gateScale I, up to upScale I and down to I (square, hidden = dim). */
    private static void setDiagonal(Tensor gate, int e, double gateScale, Tensor up, double upScale, Tensor down) {
        int n = gate.dim(1);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                gate.set(i == j ? gateScale : 0, e, i, j);
                up.set(i == j ? upScale : 0, e, i, j);
                down.set(i == j ? 1 : 0, e, i, j);
            }
        }
    }

    private static double[] expectedMoeBlock(double[] x, double[] scale, double[] sharedW, int k, boolean renorm,
            double eps) {
        double[] y = x.clone();
        for (int t = 0; t < x.length / 4; t++) {
            double ms = 0;
            for (int i = 0; i < 4; i++) ms += x[t * 4 + i] * x[t * 4 + i] / 4;
            double[] n = new double[4], ffn = new double[4];
            for (int i = 0; i < 4; i++) {
                n[i] = x[t * 4 + i] / Math.sqrt(ms + eps);
                ffn[i] = n[i] * n[i] / (1 + Math.exp(-n[i])); // silu(n) n
            }
            double z = Math.exp(n[0]) + Math.exp(n[1]) + Math.exp(n[2]);
            Integer[] order = {0, 1, 2};
            Arrays.sort(order, (a, b) -> n[b] != n[a] ? Double.compare(n[b], n[a]) : Integer.compare(a, b));
            double kept = 0;
            for (int s = 0; s < k; s++) kept += Math.exp(n[order[s]]) / z;
            double mix = 0;
            for (int s = 0; s < k; s++) {
                double p = Math.exp(n[order[s]]) / z;
                mix += (renorm ? p / kept : p) * scale[order[s]];
            }
            double shared = 0;
            for (int i = 0; i < 4; i++) shared += sharedW[i] * n[i];
            double sharedGate = 1 / (1 + Math.exp(-shared));
            for (int i = 0; i < 4; i++) y[t * 4 + i] += (mix + sharedGate) * ffn[i];
        }
        return y;
    }

    /** A dense layer with identity SwiGLU weights adds silu(n) n to the residual. */
    @Test
    void denseBlockAddsItsSwiGluToTheResidual() {
        TransformerConfig c = TransformerConfig.tiny().withDModel(4).withLayers(2).withAttention(1, 1, 4)
                .withMoe(3, 1, 4).withDenseLayers(1, 4, 1);
        TransformerBlock block = new TransformerBlock(c, 0, new Rng(1));
        assertTrue(block.moe() == null && block.dense() != null, "layer 0 is dense");
        Arrays.fill(block.attention().o().weight().value().floats(), 0f);
        for (var lin : new org.moe4j.nn.Linear[] {block.dense().gate(), block.dense().up(), block.dense().down()}) {
            Tensor w = lin.weight().value();
            for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) w.set(i == j ? 1 : 0, i, j);
        }
        Tensor x = TestData.randn(new Rng(3), 1, 5, 4);
        double[] xs = x.toDoubleArray(), expected = xs.clone();
        for (int t = 0; t < 5; t++) {
            double ms = 0;
            for (int i = 0; i < 4; i++) ms += xs[t * 4 + i] * xs[t * 4 + i] / 4;
            for (int i = 0; i < 4; i++) {
                double n = xs[t * 4 + i] / Math.sqrt(ms + c.rmsEps());
                expected[t * 4 + i] += n * n / (1 + Math.exp(-n));
            }
        }
        try (GradMode off = GradMode.off()) {
            TransformerBlock.Output out = block.forward(Variable.constant(x), ropeOf(c), RoutingContext.inference("d"));
            TestData.assertClose(expected, out.x().value().toDoubleArray(), 1e-5, 1e-5);
            assertEquals(null, out.stats(), "a dense layer routes nothing");
        }
    }
}
