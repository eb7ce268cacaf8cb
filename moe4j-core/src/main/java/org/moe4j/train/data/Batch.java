package org.moe4j.train.data;

import org.moe4j.common.ShapeException;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/** One batch: features [b, ...] and labels [b]. Fresh tensors, owned by the caller. */
public record Batch(Tensor features, IntTensor labels) {
    public Batch {
        if (labels.rank() != 1 || features.rank() < 1 || features.dim(0) != labels.numel()) {
            throw ShapeException.of("Batch", "features [b, ...] and labels [b] must agree on b", features.shape(),
                    labels.shape());
        }
    }

    public int size() {
        return labels.numel();
    }
}
