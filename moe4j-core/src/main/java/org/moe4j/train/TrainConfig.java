package org.moe4j.train;

import java.util.Locale;
import org.moe4j.common.Moe4jException;

/**
 * How to train: optimizer, schedule, clipping, batching, checkpoints and the divergence checks.
 *
 * @param epochs          passes over the training data
 * @param maxSteps        stop after this many optimizer steps in all (0: no limit beyond the epochs)
 * @param batchSize       examples per step
 * @param optimizer       "adamw" or "sgd" (SGD with momentum)
 * @param learningRate    the peak learning rate
 * @param minLearningRate the floor of the cosine decay
 * @param warmupSteps     linear warmup steps (clamped to the run's length)
 * @param weightDecay     decoupled (AdamW) or L2 (SGD) weight decay
 * @param momentum        SGD momentum (unused by AdamW)
 * @param clipNorm        global gradient-norm clip; 0 = off
 * @param seed            seeds the data order, augmentation, initialisation and routing noise
 * @param checkpointEvery save every this many steps (0: only at epoch ends and at the end); needs an output directory
 * @param keepCheckpoints how many checkpoints the output directory keeps
 * @param spikeFactor     stop when a step's loss exceeds this many times the running median (0: off)
 * @param spikeWindow     the running median's window, in steps; the check starts once the window is full
 * @param augmentPadding  image augmentation: random crop with this zero padding (0: none)
 * @param horizontalFlip  image augmentation: random horizontal flips
 * @param routingEvery    write a router telemetry record every this many steps
 */
public record TrainConfig(int epochs, long maxSteps, int batchSize, String optimizer, double learningRate,
        double minLearningRate, int warmupSteps, double weightDecay, double momentum, double clipNorm, long seed,
        int checkpointEvery, int keepCheckpoints, double spikeFactor, int spikeWindow, int augmentPadding,
        boolean horizontalFlip, int routingEvery) {
    public TrainConfig {
        if (epochs < 1) throw new Moe4jException("train: epochs must be at least 1, got " + epochs);
        if (maxSteps < 0) throw new Moe4jException("train: max steps must be >= 0, got " + maxSteps);
        if (batchSize < 1) throw new Moe4jException("train: batch size must be at least 1, got " + batchSize);
        optimizer = optimizer == null ? "" : optimizer.toLowerCase(Locale.ROOT);
        if (!optimizer.equals("adamw") && !optimizer.equals("sgd")) {
            throw new Moe4jException("train: optimizer must be adamw or sgd, got '" + optimizer + "'");
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new Moe4jException("train: learning rate must be positive and finite, got " + learningRate);
        }
        if (!(minLearningRate >= 0 && minLearningRate <= learningRate)) {
            throw new Moe4jException("train: min learning rate must be in [0, " + learningRate + "], got " + minLearningRate);
        }
        if (warmupSteps < 0) throw new Moe4jException("train: warmup steps must be >= 0, got " + warmupSteps);
        if (!(weightDecay >= 0) || !(momentum >= 0 && momentum < 1) || !(clipNorm >= 0)) {
            throw new Moe4jException("train: need weight decay >= 0, momentum in [0, 1), clip norm >= 0; got "
                    + weightDecay + ", " + momentum + ", " + clipNorm);
        }
        if (checkpointEvery < 0 || keepCheckpoints < 1) {
            throw new Moe4jException("train: need checkpoint interval >= 0 and keep >= 1, got " + checkpointEvery
                    + ", " + keepCheckpoints);
        }
        if (!(spikeFactor == 0 || spikeFactor > 1) || spikeWindow < 1) {
            throw new Moe4jException("train: the spike factor must be 0 (off) or above 1 and the window positive, got "
                    + spikeFactor + ", " + spikeWindow);
        }
        if (augmentPadding < 0 || routingEvery < 1) {
            throw new Moe4jException("train: need augmentation padding >= 0 and routing interval >= 1");
        }
    }

    /** AdamW at {@code lr}, 20 warmup steps, cosine to lr/100, clip 1, spike check 10x over 50 steps, no augmentation. */
    public static TrainConfig defaults(int epochs, int batchSize, double lr, long seed) {
        return new TrainConfig(epochs, 0, batchSize, "adamw", lr, lr / 100, 20, 0.01, 0.9, 1.0, seed, 0, 3,
                10, 50, 0, false, 10);
    }

    public TrainConfig withMaxSteps(long n) {
        return new TrainConfig(epochs, n, batchSize, optimizer, learningRate, minLearningRate, warmupSteps, weightDecay,
                momentum, clipNorm, seed, checkpointEvery, keepCheckpoints, spikeFactor, spikeWindow, augmentPadding,
                horizontalFlip, routingEvery);
    }

    public TrainConfig withOptimizer(String name, double momentum) {
        return new TrainConfig(epochs, maxSteps, batchSize, name, learningRate, minLearningRate, warmupSteps, weightDecay,
                momentum, clipNorm, seed, checkpointEvery, keepCheckpoints, spikeFactor, spikeWindow, augmentPadding,
                horizontalFlip, routingEvery);
    }

    public TrainConfig withWarmup(int steps) {
        return new TrainConfig(epochs, maxSteps, batchSize, optimizer, learningRate, minLearningRate, steps, weightDecay,
                momentum, clipNorm, seed, checkpointEvery, keepCheckpoints, spikeFactor, spikeWindow, augmentPadding,
                horizontalFlip, routingEvery);
    }

    public TrainConfig withCheckpointEvery(int steps) {
        return new TrainConfig(epochs, maxSteps, batchSize, optimizer, learningRate, minLearningRate, warmupSteps,
                weightDecay, momentum, clipNorm, seed, steps, keepCheckpoints, spikeFactor, spikeWindow, augmentPadding,
                horizontalFlip, routingEvery);
    }

    public TrainConfig withSpike(double factor, int window) {
        return new TrainConfig(epochs, maxSteps, batchSize, optimizer, learningRate, minLearningRate, warmupSteps,
                weightDecay, momentum, clipNorm, seed, checkpointEvery, keepCheckpoints, factor, window, augmentPadding,
                horizontalFlip, routingEvery);
    }

    public TrainConfig withAugmentation(int padding, boolean flip) {
        return new TrainConfig(epochs, maxSteps, batchSize, optimizer, learningRate, minLearningRate, warmupSteps,
                weightDecay, momentum, clipNorm, seed, checkpointEvery, keepCheckpoints, spikeFactor, spikeWindow,
                padding, flip, routingEvery);
    }

    /** The optimizer steps the run takes, given the batches in one epoch. */
    public long totalSteps(int batchesPerEpoch) {
        long all = Math.multiplyExact((long) epochs, batchesPerEpoch);
        return maxSteps > 0 ? Math.min(all, maxSteps) : all;
    }
}
