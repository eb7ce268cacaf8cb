package org.moe4j.model;

import org.moe4j.common.Moe4jException;
import org.moe4j.moe.BalanceScope;
import org.moe4j.moe.DropOrder;
import org.moe4j.moe.ExpertKind;
import org.moe4j.moe.MoeConfig;
import org.moe4j.moe.Routers;
import org.moe4j.moe.SoftmaxTopKRouter;
import org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder;

/**
 * The hyperparameters of a decoder-only MoE language model. The fields cover Mixtral, Qwen2-MoE, Qwen3-MoE,
 * OLMoE and DeepSeekMoE (v1); the Hugging Face config key each one corresponds to is given in brackets.
 *
 * @param vocab             token ids 0 .. vocab-1 [vocab_size]
 * @param dModel            residual stream width [hidden_size]
 * @param layers            transformer blocks [num_hidden_layers]
 * @param heads             query heads [num_attention_heads]
 * @param kvHeads           key/value heads, dividing heads; fewer than heads is grouped-query attention
 *                          [num_key_value_heads]
 * @param headDim           width of one head, even; need not be dModel / heads (Qwen3-MoE) [head_dim]
 * @param ropeTheta         base of the rotary frequencies [rope_theta]
 * @param rmsEps            epsilon of every RMSNorm [rms_norm_eps]
 * @param qkNorm            RMSNorm on queries and keys before the rotary embedding (Qwen3-MoE per head, OLMoE over
 *                          the whole projection)
 * @param attentionBias     biases on the q, k and v projections (Qwen2-MoE) [attention_bias / qkv_bias]
 * @param experts           routed experts per MoE layer; 0 makes every layer dense [num_local_experts, num_experts,
 *                          n_routed_experts]
 * @param topK              experts per token [num_experts_per_tok]
 * @param expertHidden      hidden width of each routed SwiGLU expert [moe_intermediate_size]
 * @param router            router name from {@link Routers} ("topk" by default)
 * @param routerSoftmax     for "topk": softmax over all experts before the top-k (Qwen, OLMoE, DeepSeek) or over the
 *                          k chosen logits after it (Mixtral)
 * @param normTopKProb      for "topk": renormalise the k gates to sum to 1 [norm_topk_prob]
 * @param sharedExperts     experts every token passes through, summed (DeepSeekMoE) [n_shared_experts]; 0 for none
 * @param sharedHidden      hidden width of each shared expert [shared_expert_intermediate_size]
 * @param sharedGate        scale the shared experts by sigmoid(w . x) (Qwen2-MoE)
 * @param firstDenseLayers  leading layers with a dense FFN instead of experts [first_k_dense_replace]
 * @param denseHidden       hidden width of the dense SwiGLU FFN [intermediate_size]
 * @param moeEvery          after the dense layers, layer i is MoE when (i + 1) % moeEvery == 0 [decoder_sparse_step]
 * @param balanceLossWeight weight of the load-balancing loss [router_aux_loss_coef]
 * @param zLossWeight       weight of the router z-loss [router_z_loss_coef]
 * @param tiedEmbeddings    the output head reuses the token embedding [tie_word_embeddings]
 * @param maxSeqLen         longest sequence, prompt and generation together [max_position_embeddings]
 * @param initStd           standard deviation of the initial token embedding [initializer_range]
 */
public record TransformerConfig(int vocab, int dModel, int layers, int heads, int kvHeads, int headDim,
        double ropeTheta, double rmsEps, QkNorm qkNorm, boolean attentionBias,
        int experts, int topK, int expertHidden, String router, SoftmaxOrder routerSoftmax, boolean normTopKProb,
        int sharedExperts, int sharedHidden, boolean sharedGate,
        int firstDenseLayers, int denseHidden, int moeEvery,
        double balanceLossWeight, double zLossWeight, boolean tiedEmbeddings, int maxSeqLen, double initStd) {

    /** The byte-level vocabulary: 256 bytes and three specials. */
    public static final int BYTE_VOCAB = 259;
    public static final String DEFAULT_ROUTER = SoftmaxTopKRouter.INFO.name();

    public TransformerConfig {
        positive("vocab", vocab);
        positive("dModel", dModel);
        positive("layers", layers);
        positive("heads", heads);
        positive("kvHeads", kvHeads);
        positive("headDim", headDim);
        positive("maxSeqLen", maxSeqLen);
        if (heads % kvHeads != 0) fail("heads (" + heads + ") must be a multiple of kvHeads (" + kvHeads + ")");
        if (headDim % 2 != 0) fail("headDim must be even for the rotary embedding, got " + headDim);
        if (!(ropeTheta > 1) || Double.isInfinite(ropeTheta)) fail("ropeTheta must be finite and > 1, got " + ropeTheta);
        if (!(rmsEps > 0) || Double.isInfinite(rmsEps)) fail("rmsEps must be positive and finite, got " + rmsEps);
        if (!(initStd > 0) || Double.isInfinite(initStd)) fail("initStd must be positive and finite, got " + initStd);
        if (qkNorm == null || router == null || routerSoftmax == null) fail("qkNorm, router and routerSoftmax must be set");
        if (experts < 0) fail("experts must be >= 0 (0 = dense), got " + experts);
        if (experts == 0) {
            if (topK != 0 || expertHidden != 0 || sharedExperts != 0) {
                fail("a dense model (experts = 0) takes topK = 0, expertHidden = 0 and no shared experts, got topK="
                        + topK + ", expertHidden=" + expertHidden + ", sharedExperts=" + sharedExperts);
            }
        } else {
            if (topK < 1 || topK > experts) fail("topK must be in [1, " + experts + "], got " + topK);
            positive("expertHidden", expertHidden);
            Routers.find(router); // an unknown name lists the known ones
            boolean topk = router.equals(DEFAULT_ROUTER);
            if (!topk && (normTopKProb || routerSoftmax != SoftmaxOrder.BEFORE_TOP_K)) {
                fail("normTopKProb and routerSoftmax apply to the '" + DEFAULT_ROUTER + "' router only; router '" + router
                        + "' takes its catalog defaults (set normTopKProb=false, routerSoftmax=BEFORE_TOP_K)");
            }
        }
        if (sharedExperts < 0) fail("sharedExperts must be >= 0, got " + sharedExperts);
        if (sharedExperts > 0) positive("sharedHidden", sharedHidden);
        if (sharedGate && sharedExperts == 0) fail("sharedGate needs shared experts");
        if (firstDenseLayers < 0 || firstDenseLayers > layers) {
            fail("firstDenseLayers must be in [0, layers=" + layers + "], got " + firstDenseLayers);
        }
        positive("moeEvery", moeEvery);
        if (denseHidden < 0) fail("denseHidden must be >= 0, got " + denseHidden);
        if (hasDenseLayer(experts, layers, firstDenseLayers, moeEvery) && denseHidden == 0) {
            fail("some layers are dense (experts=" + experts + ", firstDenseLayers=" + firstDenseLayers + ", moeEvery="
                    + moeEvery + "), so denseHidden must be positive");
        }
        if (!(balanceLossWeight >= 0) || !(zLossWeight >= 0) || Double.isInfinite(balanceLossWeight)
                || Double.isInfinite(zLossWeight)) {
            fail("loss weights must be finite and >= 0, got balance " + balanceLossWeight + ", z " + zLossWeight);
        }
    }

    private static boolean hasDenseLayer(int experts, int layers, int firstDense, int every) {
        for (int i = 0; i < layers; i++) if (!isMoe(i, experts, firstDense, every)) return true;
        return false;
    }

    private static boolean isMoe(int layer, int experts, int firstDense, int every) {
        return experts > 0 && layer >= firstDense && (layer + 1) % every == 0;
    }

    private static void positive(String name, int value) {
        if (value <= 0) fail(name + " must be positive, got " + value);
    }

    private static void fail(String problem) {
        throw new Moe4jException("transformer config: " + problem);
    }

    /**
     * A model small enough for tests: byte vocabulary, d_model 64, 2 layers, 4 query heads over 2 key/value heads,
     * 4 SwiGLU experts top-2 (hidden 128), sequences up to 128.
     */
    public static TransformerConfig tiny() {
        return new TransformerConfig(BYTE_VOCAB, 64, 2, 4, 2, 16, 10_000, 1e-6, QkNorm.NONE, false,
                4, 2, 128, DEFAULT_ROUTER, SoftmaxOrder.BEFORE_TOP_K, true, 0, 0, false, 0, 0, 1,
                0.01, 0, false, 128, 0.02);
    }

    /**
     * The benchmark model of the language-model issue: byte vocabulary, d_model 256, 4 layers, 4 heads of 64, 8
     * SwiGLU experts top-2 (hidden 512) with renormalised gates, sequences up to 256.
     */
    public static TransformerConfig small() {
        return new TransformerConfig(BYTE_VOCAB, 256, 4, 4, 4, 64, 10_000, 1e-6, QkNorm.NONE, false,
                8, 2, 512, DEFAULT_ROUTER, SoftmaxOrder.BEFORE_TOP_K, true, 0, 0, false, 0, 0, 1,
                0.01, 0, false, 256, 0.02);
    }

    /** Whether layer {@code i} has experts (else a dense SwiGLU FFN of width denseHidden). */
    public boolean isMoeLayer(int i) {
        if (i < 0 || i >= layers) throw new Moe4jException("transformer config: layer " + i + " out of [0, " + layers + ")");
        return isMoe(i, experts, firstDenseLayers, moeEvery);
    }

    /** The MoE layer configuration of the MoE blocks: SwiGLU experts, dropless at inference and in training. */
    public MoeConfig moeConfig() {
        if (experts == 0) throw new Moe4jException("transformer config: a dense model (experts = 0) has no MoE layers");
        return new MoeConfig(dModel, expertHidden, experts, topK, ExpertKind.SWIGLU, false, sharedExperts, sharedHidden,
                sharedGate, 0, 0, DropOrder.POSITION, balanceLossWeight, BalanceScope.MICRO_BATCH, zLossWeight);
    }

    public int queryWidth() {
        return heads * headDim;
    }

    public int kvWidth() {
        return kvHeads * headDim;
    }

    public TransformerConfig withVocab(int v) {
        return new TransformerConfig(v, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    public TransformerConfig withDModel(int d) {
        return new TransformerConfig(vocab, d, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    public TransformerConfig withLayers(int n) {
        return new TransformerConfig(vocab, dModel, n, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    /** Query heads, key/value heads and head width together, since they constrain each other. */
    public TransformerConfig withAttention(int h, int kvH, int hd) {
        return new TransformerConfig(vocab, dModel, layers, h, kvH, hd, ropeTheta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    public TransformerConfig withRopeTheta(double theta) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, theta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    public TransformerConfig withRmsEps(double eps) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, eps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    public TransformerConfig withQkNorm(QkNorm norm) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, norm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    public TransformerConfig withAttentionBias(boolean bias) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                bias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    /** Routed experts, experts per token and expert width; {@code (0, 0, 0)} makes a dense model. */
    public TransformerConfig withMoe(int e, int k, int hidden) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, e, k, hidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    /**
     * The same model with a dense SwiGLU FFN of width {@code hidden} in every layer and no experts: the dense
     * baseline (width topK * expertHidden matches a MoE model's active parameters).
     */
    public TransformerConfig asDense(int hidden) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, 0, 0, 0, router, routerSoftmax, normTopKProb, 0, 0, false, 0, hidden, 1,
                balanceLossWeight, zLossWeight, tiedEmbeddings, maxSeqLen, initStd);
    }

    /** The router by catalog name, with the softmax order and renormalisation of the "topk" router. */
    public TransformerConfig withRouter(String name, SoftmaxOrder order, boolean normalize) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, name, order, normalize, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    /** A router other than "topk", with its catalog defaults. */
    public TransformerConfig withRouter(String name) {
        return withRouter(name, SoftmaxOrder.BEFORE_TOP_K, false);
    }

    public TransformerConfig withShared(int count, int hiddenEach, boolean gated) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, count,
                hiddenEach, gated, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    /** Leading dense layers, the dense FFN width, and the MoE layer period. */
    public TransformerConfig withDenseLayers(int firstDense, int hidden, int every) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDense, hidden, every, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    public TransformerConfig withLossWeights(double balance, double z) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balance, z,
                tiedEmbeddings, maxSeqLen, initStd);
    }

    public TransformerConfig withTiedEmbeddings(boolean tied) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tied, maxSeqLen, initStd);
    }

    public TransformerConfig withMaxSeqLen(int n) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, n, initStd);
    }

    public TransformerConfig withInitStd(double std) {
        return new TransformerConfig(vocab, dModel, layers, heads, kvHeads, headDim, ropeTheta, rmsEps, qkNorm,
                attentionBias, experts, topK, expertHidden, router, routerSoftmax, normTopKProb, sharedExperts,
                sharedHidden, sharedGate, firstDenseLayers, denseHidden, moeEvery, balanceLossWeight, zLossWeight,
                tiedEmbeddings, maxSeqLen, std);
    }
}
