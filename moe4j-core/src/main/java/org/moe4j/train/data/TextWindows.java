package org.moe4j.train.data;

import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.IntTensor;

/**
 * Training batches of a token stream: each batch holds {@code batch} windows of {@code seq + 1} consecutive tokens at
 * random starts, as inputs [batch, seq] and next-token targets [batch, seq]. An epoch is as many batches as cover the
 * stream once in expectation. Batch {@code i} of epoch {@code e} draws its starts from a generator seeded by
 * {@code (seed, e, i)} alone, so the position (epoch, batches drawn) is all a fresh instance needs to {@link #restore}
 * and continue exactly. Not thread-safe.
 */
public final class TextWindows {
    private final int[] tokens; // [n] the stream
    private final int batch;
    private final int seq;
    private final long seed;
    private int epoch;
    private int cursor; // batches of this epoch drawn

    /** Inputs and next-token targets, both [batch, seq]. */
    public record LmBatch(IntTensor inputs, IntTensor targets) {}

    public TextWindows(int[] tokens, int batch, int seq, long seed) {
        if (batch < 1 || seq < 1) throw new Moe4jException("text batches: batch and sequence length must be positive, got "
                + batch + ", " + seq);
        if (tokens.length < seq + 1) {
            throw new Moe4jException("text batches: the training text has " + tokens.length + " tokens, fewer than one window"
                    + " of " + (seq + 1) + " (--seq-len " + seq + " + 1); use more text or a shorter --seq-len");
        }
        this.tokens = tokens;
        this.batch = batch;
        this.seq = seq;
        this.seed = seed;
    }

    /** Batches per epoch: the stream's targets over the tokens of one batch, at least 1. */
    public int batchesPerEpoch() {
        return (int) Math.max(1, (tokens.length - 1L) / ((long) batch * seq));
    }

    public int epoch() {
        return epoch;
    }

    /** Batches of the current epoch drawn so far. */
    public int cursor() {
        return cursor;
    }

    public boolean hasNext() {
        return cursor < batchesPerEpoch();
    }

    public LmBatch next() {
        if (!hasNext()) throw new java.util.NoSuchElementException("epoch " + epoch + " is done: call nextEpoch()");
        Rng rng = new Rng(Batcher.mix(Batcher.mix(seed, epoch), cursor));
        cursor++;
        int[] x = new int[batch * seq], y = new int[batch * seq];
        int starts = tokens.length - seq; // a window [s, s + seq] needs s + seq < n
        for (int r = 0; r < batch; r++) {
            int s = rng.nextInt(starts);
            System.arraycopy(tokens, s, x, r * seq, seq);
            System.arraycopy(tokens, s + 1, y, r * seq, seq);
        }
        return new LmBatch(new IntTensor(x, new int[] {batch, seq}), new IntTensor(y, new int[] {batch, seq}));
    }

    public void nextEpoch() {
        epoch = Math.addExact(epoch, 1);
        cursor = 0;
    }

    /** Continues at batch {@code cursor} of epoch {@code epoch}. */
    public void restore(int epoch, long cursor) {
        if (epoch < 0 || cursor < 0 || cursor > batchesPerEpoch()) {
            throw new Moe4jException("text batches: epoch " + epoch + ", batch " + cursor + " is not a position in epochs of "
                    + batchesPerEpoch() + " batches; resume with the same data, --batch and --seq-len");
        }
        this.epoch = epoch;
        this.cursor = (int) cursor;
    }
}
