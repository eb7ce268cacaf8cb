package org.moe4j.optim;

import org.moe4j.common.Moe4jException;

/** Learning-rate schedules as pure functions of the step, so a resumed run continues on the same curve. */
public final class Schedules {
    private Schedules() {}

    /**
     * Linear warmup from 0 to {@code peak} over {@code warmup} steps, then cosine decay to {@code floor} at
     * {@code total} steps (held there after). Step is 0-based.
     */
    public static double warmupCosine(long step, long warmup, long total, double peak, double floor) {
        if (warmup < 0 || total <= 0 || warmup > total) {
            throw new Moe4jException("warmupCosine: need 0 <= warmup <= total and total > 0, got warmup=" + warmup
                    + " total=" + total);
        }
        if (step < warmup) return peak * (step + 1) / warmup;
        if (step >= total) return floor;
        double progress = (double) (step - warmup) / Math.max(1, total - warmup);
        return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
    }
}
