package org.moe4j.nn;

import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.kernel.PackedWeight;
import org.moe4j.kernel.QuantizedMatmul;
import org.moe4j.tensor.QuantizedTensor;

/**
 * {@code y = x W^T + b}, over the last axis of x, with PyTorch's layout and initialisation. For inference the
 * weight may be held quantized ({@link #holdQuantized}): forward then runs {@link QuantizedMatmul} and refuses to
 * record gradients.
 */
public final class Linear extends Module {
    private final int in;
    private final int out;
    private Variable weight; // [out, in]; a zero-stride placeholder when quantized is set
    private PackedWeight quantized; // [out, in] for inference, or null; set once while loading
    private final Variable bias; // [out], or null

    public Linear(int in, int out, boolean bias, Rng rng) {
        if (in <= 0 || out <= 0) throw new Moe4jException("Linear: sizes must be positive, got in=" + in + " out=" + out);
        this.in = in;
        this.out = out;
        this.weight = parameter("weight", Init.kaimingUniform(rng, in, out, in));
        this.bias = bias ? parameter("bias", Init.kaimingUniform(rng, in, out)) : null;
    }

    /** x [..., in] to [..., out]. */
    public Variable forward(Variable x) {
        if (quantized != null) {
            requireInference("linear", quantized);
            return Variable.result("linear", QuantizedMatmul.linear(x.value(), quantized,
                    bias == null ? null : bias.value()), null, x);
        }
        return LinearAlgebra.linear(x, weight, bias);
    }

    /** Holds the weight as {@code rows} [out, in] for inference, releasing the float weight (see {@link Module}). */
    @Override
    public void holdQuantized(String name, QuantizedTensor rows) {
        if (!name.equals("weight") || rows.rows() != out || rows.cols() != in) {
            throw new Moe4jException("Linear [" + out + ", " + in + "]: cannot hold '" + name + "' as " + rows);
        }
        quantized = PackedWeight.of(rows);
        weight = quantizeParameter("weight", quantized);
    }

    /** The quantized inference weight [out, in], or null when the weight is float. */
    public PackedWeight quantizedWeight() {
        return quantized;
    }

    public Variable weight() {
        return weight;
    }

    public Variable bias() {
        return bias;
    }

    public int inFeatures() {
        return in;
    }

    public int outFeatures() {
        return out;
    }
}
