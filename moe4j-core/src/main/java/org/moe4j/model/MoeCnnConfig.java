package org.moe4j.model;

import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

/**
 * {@link MoeCnn}: images through a convolutional trunk, optional convolutional MoE blocks, and an MoE head.
 *
 * @param trunk   the convolutional trunk (input shape included)
 * @param classes number of classes (at least 2)
 * @param head    the MoE head on the flattened trunk output
 * @param convMoe conv-MoE blocks after the trunk ({@link ConvMoeConfig#none()} for none)
 */
public record MoeCnnConfig(ConvTrunkConfig trunk, int classes, MoeHeadConfig head, ConvMoeConfig convMoe)
        implements ClassifierConfig {
    public MoeCnnConfig {
        if (trunk == null || head == null || convMoe == null) {
            throw new Moe4jException("moe-cnn: trunk, head and conv-MoE configs are required");
        }
        if (classes < 2) throw new Moe4jException("moe-cnn: needs at least 2 classes, got " + classes);
    }

    /**
     * The Fashion-MNIST benchmark model: conv 32 and 64 (3x3, ReLU, 2x2 max pool), flatten, 256 wide, one MoE
     * layer of 8 GELU experts with hidden 512, top-2, 10 classes.
     */
    public static MoeCnnConfig fashionMnist() {
        return new MoeCnnConfig(ConvTrunkConfig.mnist(), 10, MoeHeadConfig.of(256, 8, 2, 512), ConvMoeConfig.none());
    }

    @Override
    public String kind() {
        return "moe-cnn";
    }

    @Override
    public int[] inputShape() {
        return trunk.inputShape();
    }

    @Override
    public MoeCnn build(Rng rng) {
        return new MoeCnn(this, rng);
    }

    public MoeCnnConfig withTrunk(ConvTrunkConfig t) {
        return new MoeCnnConfig(t, classes, head, convMoe);
    }

    public MoeCnnConfig withClasses(int n) {
        return new MoeCnnConfig(trunk, n, head, convMoe);
    }

    public MoeCnnConfig withHead(MoeHeadConfig h) {
        return new MoeCnnConfig(trunk, classes, h, convMoe);
    }

    public MoeCnnConfig withConvMoe(ConvMoeConfig c) {
        return new MoeCnnConfig(trunk, classes, head, c);
    }
}
