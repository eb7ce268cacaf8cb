package org.moe4j.moe;

/** Which assignments an expert keeps when more arrive than its capacity. */
public enum DropOrder {
    /** Earlier tokens first, as in Switch Transformer and GShard. */
    POSITION,
    /** Higher router scores first: V-MoE's batch-prioritized routing. */
    SCORE
}
