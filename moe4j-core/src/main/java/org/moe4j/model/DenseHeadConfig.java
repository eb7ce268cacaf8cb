package org.moe4j.model;

import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.moe.ExpertKind;
import org.moe4j.moe.MoeConfig;

/**
 * The dense baseline of {@link MoeHeadConfig}: the same head with each MoE layer replaced by one feed-forward
 * network ({@code h + ffn(layerNorm(h))}).
 *
 * @param width   the model width
 * @param blocks  feed-forward blocks (at least 1)
 * @param kind    the FFN's form, as the experts' ({@link ExpertKind})
 * @param hidden  the FFN's hidden width
 * @param bias    biases in the FFN (not for SwiGLU)
 * @param dropout dropout probability on each block's output and before the classifier, in training
 */
public record DenseHeadConfig(int width, int blocks, ExpertKind kind, int hidden, boolean bias, double dropout) {
    public DenseHeadConfig {
        if (width <= 0 || hidden <= 0) throw new Moe4jException("dense head: width and hidden must be positive, got "
                + width + ", " + hidden);
        if (blocks < 1) throw new Moe4jException("dense head: needs at least one block, got " + blocks);
        if (kind == null) throw new Moe4jException("dense head: the FFN kind is required");
        if (bias && kind == ExpertKind.SWIGLU) throw new Moe4jException("dense head: SwiGLU FFNs have no biases");
        if (!(dropout >= 0 && dropout < 1)) throw new Moe4jException("dense head: dropout must be in [0, 1), got " + dropout);
    }

    /**
     * The dense head whose FFN has as many weights as one example uses in {@code moe}: hidden = k * expert hidden
     * (+ the shared experts' hidden), k being the experts a token reaches under the head's router (1 for Switch
     * and hash routing, the capacity factor for expert choice). Biases and the router are the only differences
     * in the count.
     */
    public static DenseHeadConfig matchingActive(MoeHeadConfig moe) {
        MoeConfig m = moe.moe();
        double k = ActiveParameters.expertsPerToken(moe.routerInfo().create(m, new Rng(0)));
        return matching(moe, Math.toIntExact(Math.round(k * m.hidden())));
    }

    /** The dense head whose FFN has as many weights as all experts together: hidden = E * expert hidden (+ shared). */
    public static DenseHeadConfig matchingTotal(MoeHeadConfig moe) {
        MoeConfig m = moe.moe();
        return matching(moe, Math.multiplyExact(m.experts(), m.hidden()));
    }

    private static DenseHeadConfig matching(MoeHeadConfig moe, int routedHidden) {
        MoeConfig m = moe.moe();
        int hidden = Math.addExact(routedHidden, Math.multiplyExact(m.sharedExperts(), m.sharedHidden()));
        return new DenseHeadConfig(moe.width(), moe.layers(), m.expertKind(), hidden, m.expertBias(), moe.dropout());
    }

    public DenseHeadConfig withWidth(int w) {
        return new DenseHeadConfig(w, blocks, kind, hidden, bias, dropout);
    }

    public DenseHeadConfig withBlocks(int n) {
        return new DenseHeadConfig(width, n, kind, hidden, bias, dropout);
    }

    public DenseHeadConfig withFfn(ExpertKind k, int h, boolean b) {
        return new DenseHeadConfig(width, blocks, k, h, b, dropout);
    }

    public DenseHeadConfig withDropout(double p) {
        return new DenseHeadConfig(width, blocks, kind, hidden, bias, p);
    }
}
