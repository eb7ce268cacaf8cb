package org.moe4j.io.gguf;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.hf.HfArchitecture;
import org.moe4j.model.QkNorm;
import org.moe4j.model.TransformerConfig;
import org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder;

/**
 * The llama.cpp architectures ({@code general.architecture}) moe4j reads and writes, with what llama.cpp computes
 * for each: whether the router's top-k gates are renormalised, whether Q and K rows are stored in the interleaved
 * rotary order (llama.cpp's "normal" rope pairs adjacent values, Hugging Face pairs i with i + D/2), and which
 * optional parts (qk-norm, biases, shared experts, leading dense layers) it has.
 */
public enum GgufArchitecture {
    /** Llama with experts: Mixtral (and dense Llama). */
    LLAMA("llama", HfArchitecture.MIXTRAL, true),
    QWEN2MOE("qwen2moe", HfArchitecture.QWEN2_MOE, false),
    QWEN3MOE("qwen3moe", HfArchitecture.QWEN3_MOE, false),
    OLMOE("olmoe", HfArchitecture.OLMOE, false),
    /** DeepSeekMoE v1 (not DeepSeek-V2/V3, which are {@code deepseek2}). */
    DEEPSEEK("deepseek", HfArchitecture.DEEPSEEK, true);

    private final String ggufName;
    private final HfArchitecture hf;
    private final boolean interleavedRope;

    GgufArchitecture(String ggufName, HfArchitecture hf, boolean interleavedRope) {
        this.ggufName = ggufName;
        this.hf = hf;
        this.interleavedRope = interleavedRope;
    }

    /** The value of {@code general.architecture}, also the prefix of the architecture's keys. */
    public String ggufName() {
        return ggufName;
    }

    /** The Hugging Face architecture with the same computation. */
    public HfArchitecture hf() {
        return hf;
    }

    /** Whether Q and K rows are stored permuted into llama.cpp's adjacent-pair rotary order. */
    public boolean interleavedRope() {
        return interleavedRope;
    }

    /** Whether llama.cpp renormalises the chosen experts' gates to sum to 1 (it ignores any setting). */
    public boolean renormalizesGates() {
        return this == LLAMA || this == QWEN3MOE;
    }

    /** The architecture named {@code name}, or null. */
    public static GgufArchitecture byName(String name) {
        for (GgufArchitecture a : values()) if (a.ggufName.equals(name)) return a;
        return null;
    }

    /** The GGUF architecture of a Hugging Face one. */
    public static GgufArchitecture of(HfArchitecture hf) {
        for (GgufArchitecture a : values()) if (a.hf == hf) return a;
        throw new IllegalStateException(hf.toString());
    }

    /** The names moe4j reads, for messages. */
    public static String known() {
        return Arrays.stream(values()).map(GgufArchitecture::ggufName).collect(Collectors.joining(", "));
    }

    /** The architecture whose features {@code c} uses (as {@link HfArchitecture#infer}); dense models are llama. */
    public static GgufArchitecture infer(TransformerConfig c) {
        return c.experts() == 0 ? LLAMA : of(HfArchitecture.infer(c));
    }

    /**
     * Refuses a config this architecture cannot express the way llama.cpp computes it, naming the feature, so that
     * a written file never loads into llama.cpp as a different model.
     */
    public void checkExpressible(TransformerConfig c) {
        if (!c.router().equals(TransformerConfig.DEFAULT_ROUTER)) refuse("router '" + c.router() + "'");
        if (c.experts() == 0) {
            if (this != LLAMA) refuse("a dense model (experts = 0); write it as llama");
        } else {
            boolean normalized = c.normTopKProb() || c.routerSoftmax() == SoftmaxOrder.AFTER_TOP_K;
            if (c.routerSoftmax() == SoftmaxOrder.AFTER_TOP_K && this != LLAMA) refuse("a softmax after the top-k");
            if (normalized != renormalizesGates()) {
                refuse(renormalizesGates() ? "gates that are not renormalised (llama.cpp renormalises them for "
                        + ggufName + ")" : "renormalised gates (llama.cpp does not renormalise them for " + ggufName + ")");
            }
        }
        QkNorm norm = switch (this) {
            case QWEN3MOE -> QkNorm.PER_HEAD;
            case OLMOE -> QkNorm.FULL_WIDTH;
            default -> QkNorm.NONE;
        };
        if (c.qkNorm() != norm) refuse("qkNorm " + c.qkNorm() + " (llama.cpp's " + ggufName + " has " + norm + ")");
        if (c.attentionBias() && this != QWEN2MOE) refuse("q/k/v biases");
        boolean headsSplitHidden = c.headDim() * c.heads() == c.dModel();
        if (!headsSplitHidden && this != LLAMA && this != QWEN3MOE) {
            refuse("headDim " + c.headDim() + " != dModel / heads (" + c.dModel() + " / " + c.heads() + ")");
        }
        if (this == OLMOE && c.kvHeads() != c.heads()) refuse("grouped-query attention (kvHeads != heads)");
        boolean allMoe = c.firstDenseLayers() == 0 && c.moeEvery() == 1;
        if (c.experts() > 0 && !allMoe && this != DEEPSEEK) {
            refuse("dense layers (firstDenseLayers " + c.firstDenseLayers() + ", moeEvery " + c.moeEvery() + ")");
        }
        if (this == DEEPSEEK && c.moeEvery() != 1) refuse("moeEvery " + c.moeEvery());
        switch (this) {
            case QWEN2MOE -> {
                if (c.sharedExperts() == 0 || !c.sharedGate()) refuse("MoE layers without a sigmoid-gated shared expert");
            }
            case DEEPSEEK -> {
                if (c.sharedExperts() == 0) refuse("MoE layers without shared experts");
                if (c.sharedGate()) refuse("a gate on the shared experts");
                if ((long) c.sharedExperts() * c.sharedHidden() % c.expertHidden() != 0) {
                    refuse("shared experts of total width " + c.sharedExperts() * c.sharedHidden()
                            + ", not a multiple of the expert width " + c.expertHidden());
                }
            }
            default -> {
                if (c.sharedExperts() > 0) refuse("shared experts");
            }
        }
    }

    private void refuse(String feature) {
        throw new Moe4jException("gguf " + ggufName + ": the architecture (as llama.cpp computes it) has no " + feature
                + "; choose another architecture or change the model");
    }
}
