package org.moe4j.moe;

/** Over which tokens the load-balancing loss measures the load. */
public enum BalanceScope {
    /** The tokens of this forward pass (Switch, GShard). */
    MICRO_BATCH,
    /** All micro-batches of the optimizer step so far, via a {@link LoadTracker} (Qiu et al. 2025). */
    GLOBAL_BATCH,
    /** Each sequence on its own, then averaged (DeepSeek-V2's sequence-wise balance loss). */
    SEQUENCE
}
