package org.moe4j.model;

import org.moe4j.common.Rng;

/**
 * The immutable description of a classifier: enough, with a seed, to build it again (a checkpoint stores the
 * config and the weights, and rebuilds the model with {@link #build} before loading them).
 */
public sealed interface ClassifierConfig permits MoeMlpConfig, DenseMlpConfig, MoeCnnConfig, DenseCnnConfig {
    /** The model's name on the command line: "moe-mlp", "dense-mlp", "moe-cnn" or "dense-cnn". */
    String kind();

    /** The number of classes, the width of the logits. */
    int classes();

    /** One example's shape: [features] for MLPs, [channels, height, width] for CNNs. */
    int[] inputShape();

    /** A fresh model with weights drawn from {@code rng}. */
    Classifier build(Rng rng);
}
