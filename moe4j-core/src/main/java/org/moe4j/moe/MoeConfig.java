package org.moe4j.moe;

import org.moe4j.common.Moe4jException;

/**
 * The hyperparameters of one MoE layer (the router's own live in its config).
 *
 * @param dim                 model width
 * @param hidden              each routed expert's hidden width
 * @param experts             routed experts
 * @param topK                experts per token, for token-choice routers
 * @param expertKind          the FFN inside each expert
 * @param expertBias          biases in the experts (not for SwiGLU)
 * @param sharedExperts       experts every token passes through (DeepSeekMoE); 0 for none
 * @param sharedHidden        hidden width of each shared expert
 * @param sharedGate          scale the shared experts by sigmoid(w . x), as Qwen2-MoE
 * @param trainCapacityFactor capacity factor in training; 0 = dropless
 * @param evalCapacityFactor  capacity factor at inference; 0 = dropless (the default)
 * @param dropOrder           which overflow is dropped when capacity binds
 * @param balanceLossWeight   weight of the Switch/GShard load-balancing loss; 0 = off
 * @param balanceScope        over which tokens the load is measured
 * @param zLossWeight         weight of the router z-loss (ST-MoE); 0 = off
 */
public record MoeConfig(int dim, int hidden, int experts, int topK, ExpertKind expertKind, boolean expertBias,
        int sharedExperts, int sharedHidden, boolean sharedGate, double trainCapacityFactor, double evalCapacityFactor,
        DropOrder dropOrder, double balanceLossWeight, BalanceScope balanceScope, double zLossWeight) {

    public MoeConfig {
        if (dim <= 0 || hidden <= 0 || experts <= 0) {
            throw new Moe4jException("moe: dim, hidden and experts must be positive, got " + dim + ", " + hidden + ", " + experts);
        }
        if (topK < 1 || topK > experts) throw new Moe4jException("moe: top-k must be in [1, " + experts + "], got " + topK);
        if (sharedExperts < 0 || (sharedExperts > 0 && sharedHidden <= 0)) {
            throw new Moe4jException("moe: shared experts need a positive count and hidden width");
        }
        if (expertBias && expertKind == ExpertKind.SWIGLU) throw new Moe4jException("moe: SwiGLU experts have no biases");
        if (!(trainCapacityFactor >= 0) || !(evalCapacityFactor >= 0)) {
            throw new Moe4jException("moe: capacity factors must be >= 0 (0 = dropless)");
        }
        if (!(balanceLossWeight >= 0) || !(zLossWeight >= 0)) throw new Moe4jException("moe: loss weights must be >= 0");
    }

    /** SwiGLU experts, dropless, balance loss 0.01, no z-loss, no shared experts. */
    public static MoeConfig of(int dim, int hidden, int experts, int topK) {
        return new MoeConfig(dim, hidden, experts, topK, ExpertKind.SWIGLU, false, 0, 0, false, 0, 0, DropOrder.POSITION,
                0.01, BalanceScope.MICRO_BATCH, 0);
    }

    public MoeConfig withExpertKind(ExpertKind kind, boolean bias) {
        return new MoeConfig(dim, hidden, experts, topK, kind, bias, sharedExperts, sharedHidden, sharedGate,
                trainCapacityFactor, evalCapacityFactor, dropOrder, balanceLossWeight, balanceScope, zLossWeight);
    }

    public MoeConfig withShared(int count, int hiddenEach, boolean gated) {
        return new MoeConfig(dim, hidden, experts, topK, expertKind, expertBias, count, hiddenEach, gated,
                trainCapacityFactor, evalCapacityFactor, dropOrder, balanceLossWeight, balanceScope, zLossWeight);
    }

    public MoeConfig withCapacity(double train, double eval, DropOrder order) {
        return new MoeConfig(dim, hidden, experts, topK, expertKind, expertBias, sharedExperts, sharedHidden, sharedGate,
                train, eval, order, balanceLossWeight, balanceScope, zLossWeight);
    }

    public MoeConfig withLosses(double balanceWeight, BalanceScope scope, double zWeight) {
        return new MoeConfig(dim, hidden, experts, topK, expertKind, expertBias, sharedExperts, sharedHidden, sharedGate,
                trainCapacityFactor, evalCapacityFactor, dropOrder, balanceWeight, scope, zWeight);
    }

    /**
     * Fine-grained expert segmentation (DeepSeekMoE): each expert split into {@code m} experts of hidden/m, and
     * each token routed to m times as many, so compute stays the same while combinations multiply.
     */
    public MoeConfig fineGrained(int m) {
        if (m < 1 || hidden % m != 0) {
            throw new Moe4jException("moe: fine-grained factor " + m + " must divide the hidden width " + hidden);
        }
        return new MoeConfig(dim, hidden / m, experts * m, topK * m, expertKind, expertBias, sharedExperts, sharedHidden,
                sharedGate, trainCapacityFactor, evalCapacityFactor, dropOrder, balanceLossWeight, balanceScope, zLossWeight);
    }

    /** The capacity factor in force: 0 means dropless. */
    public double capacityFactor(boolean training) {
        return training ? trainCapacityFactor : evalCapacityFactor;
    }
}
