package org.moe4j.train;

import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Variable;
import org.moe4j.moe.Router;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;

/**
 * What the {@link Trainer} trains, beside the optimization it owns: the model's module and routers, a batch source
 * whose position (epoch, position in the epoch) a checkpoint saves and a resume restores exactly, the loss of one
 * step with its per-step figure (accuracy for classifiers, bits per byte for language models), and the held-out
 * evaluation. {@link ClassifierTask} and {@link LmTask} are the two kinds.
 */
public interface TrainingTask {
    /** The module holding every parameter and buffer. */
    Module module();

    /** Routers by the layer name of their {@link RouterStats}; those with selection biases are updated and saved. */
    default Map<String, Router> routers() {
        return Map.of();
    }

    /** Batches in one epoch. */
    int batchesPerEpoch();

    /** The current epoch, from 0. */
    int epoch();

    /** Whether the current epoch has another batch. */
    boolean hasNext();

    /** Starts the next epoch. */
    void nextEpoch();

    /** How far into the current epoch the batch source is (what {@link #restore} takes back). */
    long position();

    /** Continues from a saved position: the batches that follow are those the saving source would have yielded. */
    void restore(int epoch, long position);

    /** Draws the next batch and runs the model forward on it in training mode. */
    Step step(RoutingContext ctx);

    /** Evaluates on the held-out data, or returns null when there is none. Changes no training state. */
    Evaluation evaluate();

    /** The held-out split's name ("test", "validation"). */
    String evalSplit();

    /** What one step processes, plural: "images", "tokens". */
    String unit();

    /** Items (examples, tokens) of a full batch. */
    long itemsPerStep();

    /** Evaluate every this many steps besides each epoch's end (0: at epoch ends only). */
    default long evalEvery() {
        return 0;
    }

    /** A hash of the training data, recorded in each checkpoint; a resume refuses other data. */
    String fingerprint();

    /** Files every checkpoint directory holds besides the model's own (name to contents), e.g. tokenizer.json. */
    default Map<String, byte[]> checkpointFiles() {
        return Map.of();
    }

    /**
     * One training step's forward pass.
     *
     * @param loss        the task loss (cross-entropy), a scalar with a graph
     * @param auxLoss     the weighted auxiliary losses (a scalar), or null
     * @param stats       router telemetry, one per MoE layer
     * @param accuracy    the batch's accuracy (0..1), or NaN when the task has none
     * @param bitsPerByte the batch's bits per byte, or NaN when the task has none
     * @param items       examples or tokens in the batch
     */
    record Step(Variable loss, Variable auxLoss, List<RouterStats> stats, double accuracy, double bitsPerByte, long items) {
        public Step {
            stats = List.copyOf(stats);
        }
    }

    /**
     * A held-out evaluation.
     *
     * @param loss        mean cross-entropy (nats)
     * @param accuracy    0..1, or NaN
     * @param bitsPerByte language models: nats / ln 2 / UTF-8 bytes of the targets; NaN otherwise
     */
    record Evaluation(double loss, double accuracy, double bitsPerByte) {}
}
