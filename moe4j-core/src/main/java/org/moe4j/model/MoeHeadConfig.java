package org.moe4j.model;

import org.moe4j.common.Moe4jException;
import org.moe4j.moe.BalanceScope;
import org.moe4j.moe.DropOrder;
import org.moe4j.moe.ExpertKind;
import org.moe4j.moe.MoeConfig;
import org.moe4j.moe.RouterInfo;
import org.moe4j.moe.Routers;

/**
 * The classifier head shared by {@link MoeMlp} and {@link MoeCnn}: features are projected to {@code width} and
 * passed through ReLU, then {@code layers} pre-norm residual MoE blocks ({@code h + moe(layerNorm(h))}), a final
 * LayerNorm, dropout, and the linear classifier.
 *
 * @param width   the model width, the MoE layers' dim
 * @param layers  MoE blocks (at least 1)
 * @param router  the router's catalog name ({@link Routers}), e.g. "topk"
 * @param moe     every MoE layer's hyperparameters; its dim must equal {@code width}
 * @param dropout dropout probability on each block's output and before the classifier, in training
 */
public record MoeHeadConfig(int width, int layers, String router, MoeConfig moe, double dropout) {
    public MoeHeadConfig {
        if (width <= 0) throw new Moe4jException("moe head: width must be positive, got " + width);
        if (layers < 1) throw new Moe4jException("moe head: needs at least one MoE layer, got " + layers);
        if (router == null || moe == null) throw new Moe4jException("moe head: router and moe config are required");
        Routers.find(router); // an unknown name lists the known ones
        if (moe.dim() != width) {
            throw new Moe4jException("moe head: the MoE layers' dim " + moe.dim() + " must equal the width " + width);
        }
        if (!(dropout >= 0 && dropout < 1)) throw new Moe4jException("moe head: dropout must be in [0, 1), got " + dropout);
    }

    /**
     * Top-k routing of {@code experts} GELU experts with biases and hidden width {@code expertHidden}, dropless,
     * balance loss 0.01, one layer, no dropout.
     */
    public static MoeHeadConfig of(int width, int experts, int topK, int expertHidden) {
        MoeConfig moe = MoeConfig.of(width, expertHidden, experts, topK).withExpertKind(ExpertKind.GELU, true);
        return new MoeHeadConfig(width, 1, "topk", moe, 0);
    }

    public RouterInfo routerInfo() {
        return Routers.find(router);
    }

    /** Changes the width and the MoE layers' dim together. */
    public MoeHeadConfig withWidth(int w) {
        return new MoeHeadConfig(w, layers, router, moe(w, moe.hidden(), moe.experts(), moe.topK()), dropout);
    }

    public MoeHeadConfig withLayers(int n) {
        return new MoeHeadConfig(width, n, router, moe, dropout);
    }

    public MoeHeadConfig withRouter(String name) {
        return new MoeHeadConfig(width, layers, name, moe, dropout);
    }

    public MoeHeadConfig withMoe(MoeConfig m) {
        return new MoeHeadConfig(width, layers, router, m, dropout);
    }

    public MoeHeadConfig withExperts(int experts) {
        return withMoe(moe(width, moe.hidden(), experts, moe.topK()));
    }

    public MoeHeadConfig withTopK(int k) {
        return withMoe(moe(width, moe.hidden(), moe.experts(), k));
    }

    public MoeHeadConfig withExpertHidden(int hidden) {
        return withMoe(moe(width, hidden, moe.experts(), moe.topK()));
    }

    public MoeHeadConfig withExpertKind(ExpertKind kind, boolean bias) {
        return withMoe(moe.withExpertKind(kind, bias));
    }

    public MoeHeadConfig withShared(int count, int hiddenEach, boolean gated) {
        return withMoe(moe.withShared(count, hiddenEach, gated));
    }

    public MoeHeadConfig withCapacity(double train, double eval, DropOrder order) {
        return withMoe(moe.withCapacity(train, eval, order));
    }

    public MoeHeadConfig withLosses(double balanceWeight, BalanceScope scope, double zWeight) {
        return withMoe(moe.withLosses(balanceWeight, scope, zWeight));
    }

    public MoeHeadConfig withDropout(double p) {
        return new MoeHeadConfig(width, layers, router, moe, p);
    }

    /** {@link #moe} with new sizes and every other field kept. */
    private MoeConfig moe(int dim, int hidden, int experts, int topK) {
        return new MoeConfig(dim, hidden, experts, topK, moe.expertKind(), moe.expertBias(), moe.sharedExperts(),
                moe.sharedHidden(), moe.sharedGate(), moe.trainCapacityFactor(), moe.evalCapacityFactor(),
                moe.dropOrder(), moe.balanceLossWeight(), moe.balanceScope(), moe.zLossWeight());
    }
}
