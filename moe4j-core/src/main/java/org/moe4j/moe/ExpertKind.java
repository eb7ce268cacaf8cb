package org.moe4j.moe;

/** The feed-forward network inside each expert. */
public enum ExpertKind {
    /** down(relu(up x)), the original Transformer FFN. */
    RELU,
    /** down(gelu(up x)), as in GShard, Switch and most encoder MoEs. */
    GELU,
    /** down(silu(gate x) * up x), as in Mixtral, Qwen-MoE, OLMoE and DeepSeekMoE. */
    SWIGLU
}
