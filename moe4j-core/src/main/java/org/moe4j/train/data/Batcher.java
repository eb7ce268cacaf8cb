package org.moe4j.train.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

/**
 * Cuts a dataset into batches, epoch after epoch, in a deterministic order: epoch e visits the samples in a
 * permutation drawn from {@code (seed, e)} (or in order when not shuffling), and the augmentation of each batch
 * draws from {@code (seed, e, cursor)}. Nothing depends on how the batcher got to a position, so {@link
 * #position()} (seed, epoch, cursor) is all it takes for a fresh batcher to {@link #restore} and yield exactly the
 * batches the old one would have yielded next: training resumes bit-identically mid-epoch.
 *
 * <p>Usage: {@code while (b.epoch() < epochs) { while (b.hasNext()) step(b.next()); evaluate(); b.nextEpoch(); }}.
 * {@link #hasNext()} and {@link #next()} stay within the current epoch. Not thread-safe.
 */
public final class Batcher implements Iterator<Batch> {
    private final Dataset data;
    private final int batchSize;
    private final boolean shuffle;
    private final boolean dropLast;
    private final Augmentation augmentation;
    private long seed;
    private int epoch;
    private int cursor; // samples of this epoch's order already yielded
    private int[] order; // [n] this epoch's permutation

    /** A position to save in a checkpoint: the seed, the epoch, and how many samples of it were yielded. */
    public record Position(long seed, int epoch, int cursor, int datasetSize) {
        public Position {
            if (epoch < 0 || cursor < 0 || cursor > datasetSize) {
                throw new Moe4jException("Batcher.Position: epoch " + epoch + ", cursor " + cursor + " is not a "
                        + "position in a dataset of " + datasetSize);
            }
        }
    }

    /**
     * Batches of {@code batchSize}; {@code shuffle} draws a new order each epoch; {@code dropLast} skips a final
     * partial batch; {@code augmentation} transforms each batch's features (use {@link Augmentation#none()}).
     */
    public Batcher(Dataset data, int batchSize, boolean shuffle, boolean dropLast, Augmentation augmentation, long seed) {
        if (batchSize < 1) throw new Moe4jException("Batcher: batch size must be at least 1, got " + batchSize);
        if (dropLast && batchSize > data.size()) {
            throw new Moe4jException("Batcher: batch size " + batchSize + " with dropLast yields nothing from "
                    + data.size() + " samples");
        }
        this.data = data;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.dropLast = dropLast;
        this.augmentation = augmentation;
        this.seed = seed;
        this.order = orderOf(0);
    }

    /** Shuffled batches, the last one possibly smaller, no augmentation. */
    public Batcher(Dataset data, int batchSize, long seed) {
        this(data, batchSize, true, false, Augmentation.none(), seed);
    }

    public int epoch() {
        return epoch;
    }

    /** Samples of the current epoch already yielded. */
    public int cursor() {
        return cursor;
    }

    public int batchSize() {
        return batchSize;
    }

    /** Batches in one epoch. */
    public int batchesPerEpoch() {
        return dropLast ? data.size() / batchSize : (data.size() + batchSize - 1) / batchSize;
    }

    /** Whether the current epoch has another batch. */
    @Override
    public boolean hasNext() {
        return dropLast ? cursor + batchSize <= data.size() : cursor < data.size();
    }

    /** The next batch of the current epoch: fresh tensors, features [b, ...] (augmented) and labels [b]. */
    @Override
    public Batch next() {
        if (!hasNext()) throw new NoSuchElementException("epoch " + epoch + " is done: call nextEpoch()");
        int to = Math.min(cursor + batchSize, data.size());
        Batch b = data.batch(order, cursor, to);
        Rng rng = new Rng(mix(epochSeed(epoch), cursor));
        cursor = to;
        return new Batch(augmentation.apply(b.features(), rng), b.labels());
    }

    /** Starts the next epoch (whether or not this one was finished). */
    public void nextEpoch() {
        epoch = Math.addExact(epoch, 1);
        cursor = 0;
        order = orderOf(epoch);
    }

    public Position position() {
        return new Position(seed, epoch, cursor, data.size());
    }

    /** Continues from a saved position: the batches that follow are those the saving batcher would have yielded. */
    public void restore(Position p) {
        if (p.datasetSize() != data.size()) {
            throw new Moe4jException("Batcher.restore: the position is for a dataset of " + p.datasetSize()
                    + " samples, this one has " + data.size() + "; resume with the same data");
        }
        seed = p.seed();
        epoch = p.epoch();
        cursor = p.cursor();
        order = orderOf(epoch);
    }

    private int[] orderOf(int e) {
        int[] o = new int[data.size()];
        for (int i = 0; i < o.length; i++) o[i] = i;
        if (shuffle) new Rng(epochSeed(e)).shuffle(o);
        return o;
    }

    private long epochSeed(int e) {
        return mix(seed, e);
    }

    /** An independent-looking 64-bit seed from a seed and a counter (the SplitMix64 / MurmurHash3 finalizer). */
    static long mix(long seed, long counter) {
        return fmix(seed ^ fmix(counter + 0x632be59bd9b4e019L));
    }

    private static long fmix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }
}
