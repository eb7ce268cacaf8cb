package org.moe4j.train;

import java.util.Locale;
import org.moe4j.common.Moe4jException;
import org.moe4j.model.TransformerConfig;

/**
 * A language-model training run's settings, saved as each checkpoint's config.json (the checkpoint contract: the
 * field {@code transformer} holds the {@link TransformerConfig}; {@code tokenizer} is "byte", the
 * {@link org.moe4j.io.tokenizer.ByteTokenizer} with its default specials, or "bpe", whose tokenizer.json lies in
 * every checkpoint directory).
 *
 * @param model         "moe-lm" or "dense-lm" (the dense baseline with the MoE model's active FFN width)
 * @param data          the {@code --data} spec, {@code text:FILE} or {@code text:bundled:kjv-small}
 * @param tokenizer     "byte" or "bpe"
 * @param tokenizerFile where the bpe tokenizer.json came from (for the record; checkpoints hold their own copy), or null
 * @param preset        the preset the transformer was built from ("tiny", "small")
 * @param transformer   the model's configuration (vocab set to the tokenizer's)
 * @param seqLen        training and evaluation window length in tokens
 * @param evalTokens    evaluate on at most this many held-out tokens
 * @param evalEvery     evaluate every this many steps (0: only at epoch ends and at the end)
 * @param train         optimization settings
 */
public record LmRunConfig(String model, String data, String tokenizer, String tokenizerFile, String preset,
        TransformerConfig transformer, int seqLen, long evalTokens, int evalEvery, TrainConfig train) {
    public static final String MOE = "moe-lm";
    public static final String DENSE = "dense-lm";
    public static final String BYTE = "byte";
    public static final String BPE = "bpe";

    public LmRunConfig {
        model = model == null ? "" : model.toLowerCase(Locale.ROOT);
        if (!model.equals(MOE) && !model.equals(DENSE)) {
            throw new Moe4jException("--model must be moe-lm or dense-lm for text, got '" + model + "'");
        }
        if (!BYTE.equals(tokenizer) && !BPE.equals(tokenizer)) {
            throw new Moe4jException("LM run config: tokenizer must be \"byte\" or \"bpe\", got " + tokenizer);
        }
        if (transformer == null || train == null || data == null) throw new Moe4jException("LM run config: data, transformer and train are required");
        if (seqLen < 1 || seqLen > transformer.maxSeqLen()) {
            throw new Moe4jException("--seq-len must be in [1, " + transformer.maxSeqLen() + "], got " + seqLen);
        }
        if (evalTokens < seqLen) throw new Moe4jException("--eval-tokens must be at least --seq-len (" + seqLen + "), got " + evalTokens);
        if (evalEvery < 0) throw new Moe4jException("--eval-every must be >= 0, got " + evalEvery);
        if (model.equals(DENSE) && transformer.experts() != 0) {
            throw new Moe4jException("LM run config: dense-lm needs a transformer without experts");
        }
        if (model.equals(MOE) && transformer.experts() == 0) {
            throw new Moe4jException("LM run config: moe-lm needs experts (--experts at least 1)");
        }
    }

    /** The preset by name. */
    public static TransformerConfig preset(String name) {
        return switch (name == null ? "" : name.toLowerCase(Locale.ROOT)) {
            case "tiny" -> TransformerConfig.tiny();
            case "small" -> TransformerConfig.small();
            default -> throw new Moe4jException("--preset must be tiny or small, got '" + name + "'");
        };
    }

    /**
     * The transformer of a run: {@code preset} with the tokenizer's vocabulary, room for {@code seqLen}, and the
     * given experts, top-k and router where not null; for dense-lm then the dense baseline of the same active
     * parameters (no experts, a dense SwiGLU of topK * expertHidden in every layer).
     */
    public static TransformerConfig transformer(String model, String preset, int vocab, int seqLen, Integer experts,
            Integer topK, String router) {
        TransformerConfig c = preset(preset).withVocab(vocab);
        if (seqLen > c.maxSeqLen()) c = c.withMaxSeqLen(seqLen);
        int e = experts != null ? experts : c.experts();
        int k = topK != null ? topK : Math.min(c.topK(), e);
        if (e < 1) throw new Moe4jException("--experts must be at least 1 (use --model dense-lm for a dense model), got " + e);
        if (k < 1 || k > e) throw new Moe4jException("--top-k must be in [1, " + e + "], got " + k);
        c = c.withMoe(e, k, c.expertHidden());
        if (router != null && !router.equals(c.router())) {
            c = router.equals(TransformerConfig.DEFAULT_ROUTER)
                    ? c.withRouter(router, org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder.BEFORE_TOP_K, true)
                    : c.withRouter(router);
        }
        String m = model == null ? "" : model.toLowerCase(Locale.ROOT);
        return m.equals(DENSE) ? c.asDense(k * c.expertHidden()) : c;
    }

    public boolean moe() {
        return model.equals(MOE);
    }
}
