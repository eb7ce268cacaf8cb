package org.moe4j.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/**
 * What the router tests build by hand: ReLU experts whose outputs have closed forms, router weights set to chosen
 * values, skewed inputs for balancing tests, and the double-precision formulas the expected values are written in.
 */
final class RouterFixtures {
    private RouterFixtures() {}

    /** Expert e of {@link #scaledReluLayer(Router)} multiplies a non-negative token by SCALES[e]. */
    static final float[] SCALES = {2, 3, 5};

    /** ReLU experts of width dim (hidden dim too), no biases. */
    static MoeConfig reluConfig(int dim, int experts, int k) {
        return MoeConfig.of(dim, dim, experts, k).withExpertKind(ExpertKind.RELU, false);
    }

    /** Sets bias-free ReLU experts so that expert e computes {@code scale[e] * relu(x)}: up = scale I, down = I. */
    static void scaleIdentity(Experts experts, float... scale) {
        int dim = experts.dim();
        Tensor up = experts.up().value(), down = experts.down().value();
        for (int e = 0; e < scale.length; e++) {
            for (int i = 0; i < dim; i++) {
                for (int j = 0; j < dim; j++) {
                    up.set(i == j ? scale[e] : 0, e, i, j);
                    down.set(i == j ? 1 : 0, e, i, j);
                }
            }
        }
    }

    /**
     * A layer behind {@code router} whose ReLU experts of width dim compute {@code scale[e] * relu(x)}. The layer's
     * k is 1 and does not matter: the router alone decides how many experts a token takes.
     */
    static MoeLayer scaledReluLayer(Router router, int dim, float... scale) {
        MoeLayer layer = new MoeLayer(reluConfig(dim, scale.length, 1), router, new Rng(3));
        scaleIdentity(layer.experts(), scale);
        return layer;
    }

    /** dim 2, three experts scaling by {@link #SCALES}. */
    static MoeLayer scaledReluLayer(Router router) {
        return scaledReluLayer(router, 2, SCALES);
    }

    /** Sets a router weight [experts, dim] from row-major values. */
    static void setWeight(Variable weight, float... rowMajor) {
        assertEquals(weight.value().numel(), rowMajor.length, "weight values");
        weight.value().copyFrom(Tensor.of(rowMajor, weight.shape()));
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

    /** Router logits x W^T [tokens][experts] in double, from x [tokens, dim] and W [experts, dim]. */
    static double[][] logits(Tensor x, Tensor w) {
        int tokens = x.dim(0), experts = w.dim(0), dim = x.dim(1);
        double[][] out = new double[tokens][experts];
        for (int t = 0; t < tokens; t++) {
            for (int e = 0; e < experts; e++) {
                for (int j = 0; j < dim; j++) out[t][e] += x.getDouble(t, j) * w.getDouble(e, j);
            }
        }
        return out;
    }

    static double[] softmax(double[] logits) {
        double[] p = new double[logits.length];
        double z = 0;
        for (int e = 0; e < p.length; e++) {
            p[e] = Math.exp(logits[e]);
            z += p[e];
        }
        for (int e = 0; e < p.length; e++) p[e] /= z;
        return p;
    }

    static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }
}
