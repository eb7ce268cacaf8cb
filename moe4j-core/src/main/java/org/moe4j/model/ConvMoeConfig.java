package org.moe4j.model;

import org.moe4j.common.Moe4jException;
import org.moe4j.moe.Routers;

/**
 * Convolutional MoE blocks after the trunk of {@link MoeCnn} (see {@link ConvMoeBlock}): each image is routed on
 * its globally pooled features to {@code topK} of {@code experts} 3x3 convolutions.
 *
 * @param blocks            residual conv-MoE blocks; 0 for none
 * @param experts           conv experts per block
 * @param topK              experts per image
 * @param router            the router's catalog name
 * @param balanceLossWeight weight of the Switch load-balancing loss; 0 = off
 */
public record ConvMoeConfig(int blocks, int experts, int topK, String router, double balanceLossWeight) {
    public ConvMoeConfig {
        if (blocks < 0) throw new Moe4jException("conv moe: blocks must be >= 0, got " + blocks);
        if (blocks > 0) {
            if (experts < 1) throw new Moe4jException("conv moe: experts must be positive, got " + experts);
            if (topK < 1 || topK > experts) throw new Moe4jException("conv moe: top-k must be in [1, " + experts + "], got " + topK);
            if (router == null) throw new Moe4jException("conv moe: a router name is required");
            Routers.find(router);
        }
        if (!(balanceLossWeight >= 0)) throw new Moe4jException("conv moe: balance loss weight must be >= 0");
    }

    /** No conv-MoE blocks. */
    public static ConvMoeConfig none() {
        return new ConvMoeConfig(0, 1, 1, "topk", 0);
    }

    /** {@code blocks} blocks of top-k routing among {@code experts} conv experts, balance loss 0.01. */
    public static ConvMoeConfig of(int blocks, int experts, int topK) {
        return new ConvMoeConfig(blocks, experts, topK, "topk", 0.01);
    }

    public boolean enabled() {
        return blocks > 0;
    }

    public ConvMoeConfig withRouter(String name) {
        return new ConvMoeConfig(blocks, experts, topK, name, balanceLossWeight);
    }

    public ConvMoeConfig withBalanceLossWeight(double w) {
        return new ConvMoeConfig(blocks, experts, topK, router, w);
    }
}
