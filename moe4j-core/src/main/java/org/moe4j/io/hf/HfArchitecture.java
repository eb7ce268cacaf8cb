package org.moe4j.io.hf;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.moe4j.model.QkNorm;
import org.moe4j.model.TransformerConfig;
import org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder;

/** The Hugging Face MoE architectures moe4j reads and writes, by their {@code architectures} class name. */
public enum HfArchitecture {
    MIXTRAL("MixtralForCausalLM", "mixtral"),
    QWEN2_MOE("Qwen2MoeForCausalLM", "qwen2_moe"),
    QWEN3_MOE("Qwen3MoeForCausalLM", "qwen3_moe"),
    OLMOE("OlmoeForCausalLM", "olmoe"),
    /** DeepSeekMoE v1 (deepseek-moe-16b); its modeling code ships with the checkpoint (trust_remote_code). */
    DEEPSEEK("DeepseekForCausalLM", "deepseek");

    private final String className;
    private final String modelType;

    HfArchitecture(String className, String modelType) {
        this.className = className;
        this.modelType = modelType;
    }

    /** The class name in config.json's {@code architectures}, e.g. {@code MixtralForCausalLM}. */
    public String className() {
        return className;
    }

    /** config.json's {@code model_type}, e.g. {@code mixtral}. */
    public String modelType() {
        return modelType;
    }

    /** The architecture of a class name, or null when moe4j does not know it. */
    public static HfArchitecture byClassName(String name) {
        for (HfArchitecture a : values()) if (a.className.equals(name)) return a;
        return null;
    }

    /** The known class names, for error messages. */
    public static String known() {
        return Arrays.stream(values()).map(HfArchitecture::className).collect(Collectors.joining(", "));
    }

    /**
     * The architecture whose features a moe4j config uses: per-head qk-norm is Qwen3-MoE, full-width qk-norm OLMoE,
     * a gated shared expert Qwen2-MoE, ungated shared experts or leading dense layers DeepSeekMoE, Mixtral otherwise
     * when the gates are renormalised, else Qwen3-MoE. {@link HfConfig#toJson} says when the config does not fit.
     */
    public static HfArchitecture infer(TransformerConfig c) {
        if (c.qkNorm() == QkNorm.PER_HEAD) return QWEN3_MOE;
        if (c.qkNorm() == QkNorm.FULL_WIDTH) return OLMOE;
        if (c.sharedGate() || c.attentionBias()) return QWEN2_MOE;
        if (c.sharedExperts() > 0 || c.firstDenseLayers() > 0 && c.moeEvery() == 1) return DEEPSEEK;
        if (c.routerSoftmax() == SoftmaxOrder.AFTER_TOP_K || c.normTopKProb() && c.moeEvery() == 1) return MIXTRAL;
        return QWEN3_MOE;
    }
}
