package org.moe4j.autograd;

import org.moe4j.tensor.Tensor;

/**
 * The gradient rule of one op: given the gradient of the loss with respect to the op's output, the gradients
 * with respect to each input, in input order ({@code null} for an input that needs none).
 *
 * <p>A returned tensor must have its input's shape, and must be either fresh or a view of {@code gradOutput}:
 * never a tensor the forward pass saved, and never one fresh tensor for two inputs, since the engine may adopt
 * it as the input's gradient buffer.
 */
@FunctionalInterface
public interface Backward {
    Tensor[] apply(Tensor gradOutput);
}
