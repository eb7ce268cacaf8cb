package org.moe4j.moe;

/**
 * Expert load summed over the micro-batches of one global batch, for the global-batch balance loss of Qiu et al.
 * 2025 ("Demons in the detail"): the load fractions f_i come from every token of the global batch seen so far,
 * not from one small micro-batch whose composition is too narrow to balance. Owned by the trainer, which calls
 * {@link #reset()} after each optimizer step.
 */
public final class LoadTracker {
    private double[] load; // [experts] assignments per expert so far
    private long assignments;

    /** Adds one micro-batch's load and returns the accumulated load fractions (summing to 1). */
    public double[] accumulate(int[] microBatchLoad) {
        if (load == null || load.length != microBatchLoad.length) {
            load = new double[microBatchLoad.length];
            assignments = 0;
        }
        for (int e = 0; e < load.length; e++) {
            load[e] += microBatchLoad[e];
            assignments += microBatchLoad[e];
        }
        double[] f = new double[load.length];
        for (int e = 0; e < f.length; e++) f[e] = assignments == 0 ? 0 : load[e] / assignments;
        return f;
    }

    public void reset() {
        load = null;
        assignments = 0;
    }
}
