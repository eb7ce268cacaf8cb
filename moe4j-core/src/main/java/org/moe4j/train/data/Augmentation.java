package org.moe4j.train.data;

import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;

/**
 * A random transform of a batch's features, applied by the {@link Batcher} to each training batch with a generator
 * derived from the seed, the epoch and the batch's position, so that a resumed run draws the same transforms.
 */
@FunctionalInterface
public interface Augmentation {
    /** New features of the same shape; must draw randomness only from {@code rng} and must not change {@code batch}. */
    Tensor apply(Tensor batch, Rng rng);

    /** No change. */
    static Augmentation none() {
        return (batch, rng) -> batch;
    }
}
