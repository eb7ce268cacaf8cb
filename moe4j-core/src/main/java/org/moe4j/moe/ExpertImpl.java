package org.moe4j.moe;

/** How a {@link MoeLayer} runs its routed experts; both give the same output and gradients. */
public enum ExpertImpl {
    /** Tokens permuted so each expert's rows are contiguous, then one grouped GEMM per projection. */
    GROUPED,
    /** One dense FFN per expert over its index-selected tokens, as Hugging Face's Mixtral block does (the peer). */
    LOOP
}
