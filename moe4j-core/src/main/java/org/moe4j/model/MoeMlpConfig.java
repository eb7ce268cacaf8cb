package org.moe4j.model;

import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

/**
 * {@link MoeMlp}: vectors of {@code inputs} features to {@code classes} logits through an MoE head.
 *
 * @param inputs  features per example
 * @param classes number of classes (at least 2)
 * @param head    the MoE head
 */
public record MoeMlpConfig(int inputs, int classes, MoeHeadConfig head) implements ClassifierConfig {
    public MoeMlpConfig {
        if (inputs <= 0) throw new Moe4jException("moe-mlp: inputs must be positive, got " + inputs);
        if (classes < 2) throw new Moe4jException("moe-mlp: needs at least 2 classes, got " + classes);
        if (head == null) throw new Moe4jException("moe-mlp: the head config is required");
    }

    /** Width 128, one MoE layer of 8 GELU experts, top-2, hidden 256. */
    public static MoeMlpConfig of(int inputs, int classes) {
        return new MoeMlpConfig(inputs, classes, MoeHeadConfig.of(128, 8, 2, 256));
    }

    @Override
    public String kind() {
        return "moe-mlp";
    }

    @Override
    public int[] inputShape() {
        return new int[] {inputs};
    }

    @Override
    public MoeMlp build(Rng rng) {
        return new MoeMlp(this, rng);
    }

    public MoeMlpConfig withInputs(int n) {
        return new MoeMlpConfig(n, classes, head);
    }

    public MoeMlpConfig withClasses(int n) {
        return new MoeMlpConfig(inputs, n, head);
    }

    public MoeMlpConfig withHead(MoeHeadConfig h) {
        return new MoeMlpConfig(inputs, classes, h);
    }
}
