package org.moe4j.model;

import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

/**
 * {@link DenseMlp}: the dense baseline of {@link MoeMlpConfig}, same structure with feed-forward blocks.
 *
 * @param inputs  features per example
 * @param classes number of classes (at least 2)
 * @param head    the dense head
 */
public record DenseMlpConfig(int inputs, int classes, DenseHeadConfig head) implements ClassifierConfig {
    public DenseMlpConfig {
        if (inputs <= 0) throw new Moe4jException("dense-mlp: inputs must be positive, got " + inputs);
        if (classes < 2) throw new Moe4jException("dense-mlp: needs at least 2 classes, got " + classes);
        if (head == null) throw new Moe4jException("dense-mlp: the head config is required");
    }

    /** The baseline with as many FFN weights as one example uses in {@code moe} (hidden = k * expert hidden). */
    public static DenseMlpConfig matchingActive(MoeMlpConfig moe) {
        return new DenseMlpConfig(moe.inputs(), moe.classes(), DenseHeadConfig.matchingActive(moe.head()));
    }

    /** The baseline with as many FFN weights as all of {@code moe}'s experts (hidden = E * expert hidden). */
    public static DenseMlpConfig matchingTotal(MoeMlpConfig moe) {
        return new DenseMlpConfig(moe.inputs(), moe.classes(), DenseHeadConfig.matchingTotal(moe.head()));
    }

    @Override
    public String kind() {
        return "dense-mlp";
    }

    @Override
    public int[] inputShape() {
        return new int[] {inputs};
    }

    @Override
    public DenseMlp build(Rng rng) {
        return new DenseMlp(this, rng);
    }

    public DenseMlpConfig withInputs(int n) {
        return new DenseMlpConfig(n, classes, head);
    }

    public DenseMlpConfig withClasses(int n) {
        return new DenseMlpConfig(inputs, n, head);
    }

    public DenseMlpConfig withHead(DenseHeadConfig h) {
        return new DenseMlpConfig(inputs, classes, h);
    }
}
