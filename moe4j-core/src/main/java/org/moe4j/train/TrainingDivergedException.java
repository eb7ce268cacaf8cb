package org.moe4j.train;

import org.moe4j.common.Moe4jException;

/** Training stopped because the loss or the gradient went non-finite or spiked; no checkpoint was written for it. */
public final class TrainingDivergedException extends Moe4jException {
    private static final long serialVersionUID = 1L;
    private final long step;

    public TrainingDivergedException(long step, String message) {
        super(message);
        this.step = step;
    }

    /** The step that failed (1-based: the step that would have been taken). */
    public long step() {
        return step;
    }
}
