package org.moe4j.model;

import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

/**
 * {@link DenseCnn}: the dense baseline of {@link MoeCnnConfig}, the same trunk and a head of feed-forward blocks.
 * Conv-MoE blocks have no dense counterpart here: compare against an MoE-CNN without them.
 *
 * @param trunk   the convolutional trunk (input shape included)
 * @param classes number of classes (at least 2)
 * @param head    the dense head on the flattened trunk output
 */
public record DenseCnnConfig(ConvTrunkConfig trunk, int classes, DenseHeadConfig head) implements ClassifierConfig {
    public DenseCnnConfig {
        if (trunk == null || head == null) throw new Moe4jException("dense-cnn: trunk and head configs are required");
        if (classes < 2) throw new Moe4jException("dense-cnn: needs at least 2 classes, got " + classes);
    }

    /** The baseline with as many FFN weights as one image uses in {@code moe}'s head (hidden = k * expert hidden). */
    public static DenseCnnConfig matchingActive(MoeCnnConfig moe) {
        return new DenseCnnConfig(moe.trunk(), moe.classes(), DenseHeadConfig.matchingActive(moe.head()));
    }

    /** The baseline with as many FFN weights as all of {@code moe}'s head experts (hidden = E * expert hidden). */
    public static DenseCnnConfig matchingTotal(MoeCnnConfig moe) {
        return new DenseCnnConfig(moe.trunk(), moe.classes(), DenseHeadConfig.matchingTotal(moe.head()));
    }

    @Override
    public String kind() {
        return "dense-cnn";
    }

    @Override
    public int[] inputShape() {
        return trunk.inputShape();
    }

    @Override
    public DenseCnn build(Rng rng) {
        return new DenseCnn(this, rng);
    }

    public DenseCnnConfig withTrunk(ConvTrunkConfig t) {
        return new DenseCnnConfig(t, classes, head);
    }

    public DenseCnnConfig withClasses(int n) {
        return new DenseCnnConfig(trunk, n, head);
    }

    public DenseCnnConfig withHead(DenseHeadConfig h) {
        return new DenseCnnConfig(trunk, classes, h);
    }
}
