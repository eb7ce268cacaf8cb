package org.moe4j.moe;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.moe4j.autograd.Variable;
import org.moe4j.tensor.Tensor;

/** Experts with closed-form outputs and gradient snapshots, shared by the router tests. */
final class HandBuiltExperts {
    private HandBuiltExperts() {}

    /** ReLU experts without biases where expert e computes {@code scale[e] * relu(x)}: up = scale I, down = I. */
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

    /** ReLU experts of width dim, hidden dim, no bias. */
    static MoeConfig relu(int dim, int experts, int topK) {
        return MoeConfig.of(dim, dim, experts, topK).withExpertKind(ExpertKind.RELU, false);
    }

    /** Every parameter's gradient (copied) by name, plus x's under "x". */
    static Map<String, Tensor> grads(MoeLayer layer, Variable x) {
        Map<String, Tensor> out = new TreeMap<>();
        layer.namedParameters().forEach((name, p) -> {
            if (p.grad() != null) out.put(name, p.grad().copy());
        });
        out.put("x", x.grad().copy());
        return out;
    }

    /** The layer's parameters and x, for a gradcheck of the whole layer. */
    static List<Variable> paramsAnd(MoeLayer layer, Variable x) {
        List<Variable> params = new ArrayList<>(layer.parameters());
        params.add(x);
        return params;
    }

    /** Assignments that send every token to every expert with gates {@code w} [tokens, experts] (a dense MoE). */
    static Assignments dense(Variable w) {
        int tokens = w.dim(0), experts = w.dim(1);
        int[] token = new int[tokens * experts], expert = new int[tokens * experts];
        for (int i = 0; i < token.length; i++) {
            token[i] = i / experts;
            expert[i] = i % experts;
        }
        return new Assignments(tokens, experts, token, expert, org.moe4j.autograd.Shaping.reshape(w, tokens * experts),
                new float[tokens * experts]);
    }
}
