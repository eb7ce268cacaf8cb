package org.moe4j.train.progress;

import java.util.List;
import java.util.Objects;
import org.moe4j.moe.RouterStats;

/**
 * One line of the metrics log. NaN marks a figure that was not measured (accuracy of a language model, a
 * bits-per-byte of a classifier); the log writes it as null and reads it back as NaN.
 */
public sealed interface MetricsRecord {
    /** The training step this record belongs to (the run's total for a summary). */
    long step();

    /**
     * One optimizer step (or the mean over the steps since the previous record, when the trainer logs sparsely).
     *
     * @param loss           the task loss (cross-entropy), without the auxiliary losses
     * @param accuracy       training accuracy of the batch (0..1), or NaN
     * @param itemsPerSecond training throughput (images, tokens...) around this step
     * @param elapsedSeconds wall time since the run (not the resumed process) began
     * @param auxLoss        the weighted sum of the balancing and router losses, 0 when there are none
     * @param bitsPerByte    language models: the batch's bits per byte; NaN for classifiers
     */
    record Step(long step, int epoch, double loss, double accuracy, double learningRate, double itemsPerSecond,
            double elapsedSeconds, double auxLoss, double bitsPerByte) implements MetricsRecord {
        /** A classifier's step (no bits per byte). */
        public Step(long step, int epoch, double loss, double accuracy, double learningRate, double itemsPerSecond,
                double elapsedSeconds, double auxLoss) {
            this(step, epoch, loss, accuracy, learningRate, itemsPerSecond, elapsedSeconds, auxLoss, Double.NaN);
        }
    }

    /**
     * An evaluation on a held-out split.
     *
     * @param split       "validation", "test"...
     * @param accuracy    0..1, or NaN
     * @param bitsPerByte for language models, or NaN
     */
    record Eval(long step, int epoch, String split, double loss, double accuracy, double bitsPerByte)
            implements MetricsRecord {
        public Eval {
            Objects.requireNonNull(split, "split");
        }
    }

    /**
     * Router telemetry for the steps since the previous routing record, one {@link RouterStats} per MoE layer
     * (in the model's order), so that the report can show how the load moves during training.
     */
    record Routing(long step, List<RouterStats> layers) implements MetricsRecord {
        public Routing {
            layers = List.copyOf(layers);
        }
    }

    /**
     * The run's end.
     *
     * @param status        "completed", "max-steps", or why the run stopped (e.g. "stopped: loss is NaN at step 812")
     * @param trainLoss     the last smoothed training loss, or NaN
     * @param evalLoss      the last evaluation's loss, or NaN
     * @param evalAccuracy  the last evaluation's accuracy, or NaN
     * @param evalBitsPerByte the last evaluation's bits per byte (language models), or NaN
     */
    record Summary(long step, int epochs, double elapsedSeconds, double itemsPerSecond, double trainLoss,
            double evalLoss, double evalAccuracy, String status, double evalBitsPerByte) implements MetricsRecord {
        public Summary {
            Objects.requireNonNull(status, "status");
        }

        /** A classifier's summary (no bits per byte). */
        public Summary(long step, int epochs, double elapsedSeconds, double itemsPerSecond, double trainLoss,
                double evalLoss, double evalAccuracy, String status) {
            this(step, epochs, elapsedSeconds, itemsPerSecond, trainLoss, evalLoss, evalAccuracy, status, Double.NaN);
        }
    }
}
