package org.moe4j.autograd;

import java.util.ArrayList;
import java.util.List;
import org.moe4j.kernel.NormKernels;
import org.moe4j.tensor.Tensor;

/** LayerNorm and RMSNorm over the last axis, each one fused kernel forward and one backward. */
public final class Normalization {
    private Normalization() {}

    /**
     * {@code (x - mean) / sqrt(var + eps) * weight + bias} over the last axis, with the biased variance (as
     * PyTorch). {@code weight} and {@code bias} are {@code [C]} or null.
     */
    public static Variable layerNorm(Variable x, Variable weight, Variable bias, double eps) {
        Tensor w = weight == null ? null : weight.value();
        Tensor b = bias == null ? null : bias.value();
        NormKernels.Forward f = NormKernels.layerNorm(x.value(), w, b, eps);
        Variable[] inputs = present(x, weight, bias);
        return Variable.result("layerNorm", f.output(), g -> {
            NormKernels.Grads gr = NormKernels.layerNormBackward(x.value(), w, f, g, x.requiresGrad(),
                    weight != null && weight.requiresGrad(), bias != null && bias.requiresGrad());
            return inOrder(gr.input(), weight != null, gr.weight(), bias != null, gr.bias());
        }, inputs);
    }

    /** {@code x * rsqrt(mean(x^2) + eps) * weight} over the last axis, as Llama's RMSNorm; weight is {@code [C]} or null. */
    public static Variable rmsNorm(Variable x, Variable weight, double eps) {
        Tensor w = weight == null ? null : weight.value();
        NormKernels.Forward f = NormKernels.rmsNorm(x.value(), w, eps);
        Variable[] inputs = present(x, weight, null);
        return Variable.result("rmsNorm", f.output(), g -> {
            NormKernels.Grads gr = NormKernels.rmsNormBackward(x.value(), w, f, g, x.requiresGrad(),
                    weight != null && weight.requiresGrad());
            return inOrder(gr.input(), weight != null, gr.weight(), false, null);
        }, inputs);
    }

    private static Variable[] present(Variable x, Variable weight, Variable bias) {
        List<Variable> in = new ArrayList<>(List.of(x));
        if (weight != null) in.add(weight);
        if (bias != null) in.add(bias);
        return in.toArray(Variable[]::new);
    }

    /** One gradient per recorded input: the input's, then the weight's and the bias's where they are inputs. */
    private static Tensor[] inOrder(Tensor dx, boolean hasWeight, Tensor dw, boolean hasBias, Tensor db) {
        List<Tensor> out = new ArrayList<>();
        out.add(dx);
        if (hasWeight) out.add(dw);
        if (hasBias) out.add(db);
        return out.toArray(Tensor[]::new);
    }
}
