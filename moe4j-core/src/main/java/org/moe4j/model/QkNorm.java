package org.moe4j.model;

/** Whether and how queries and keys are RMS-normalised after their projections, before the rotary embedding. */
public enum QkNorm {
    /** No normalisation (Mixtral, Qwen2-MoE, DeepSeekMoE). */
    NONE,
    /** One RMSNorm of width headDim applied to every head (Qwen3-MoE). */
    PER_HEAD,
    /** One RMSNorm over the whole projection, heads * headDim wide, before it is split into heads (OLMoE). */
    FULL_WIDTH
}
