package org.moe4j.model;

import java.util.List;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.moe.RouterStats;
import org.moe4j.tensor.Tensor;

/**
 * One batched incremental step of a language model ({@link TransformerLm#forwardIncremental(List, List, boolean)}).
 *
 * @param logits      [rows, vocab]: the logits of sequence s are rows {@code rowStarts[s] .. rowStarts[s + 1] - 1},
 *                    one per new token, or only its last new token's when asked for the last positions
 * @param rowStarts   [sequences + 1] the first row of each sequence, then the row count
 * @param auxLoss     the MoE layers' auxiliary losses, or null (routers without an inference loss)
 * @param routerStats router telemetry of each MoE layer over all the step's tokens, in layer order
 */
public record IncrementalOutput(Tensor logits, int[] rowStarts, Variable auxLoss, List<RouterStats> routerStats) {
    public IncrementalOutput {
        rowStarts = rowStarts.clone();
        routerStats = List.copyOf(routerStats);
    }

    /** The number of sequences in the step. */
    public int sequences() {
        return rowStarts.length - 1;
    }

    /** The logits of sequence {@code s}, [rows of s, vocab] (a view). */
    public Tensor logits(int s) {
        check(s);
        return logits.narrow(0, rowStarts[s], rowStarts[s + 1] - rowStarts[s]);
    }

    /** The logits after sequence {@code s}'s last new token, [vocab] (a view): what the next token is drawn from. */
    public Tensor lastLogits(int s) {
        check(s);
        return logits.narrow(0, rowStarts[s + 1] - 1, 1).reshape(logits.dim(1));
    }

    @Override
    public int[] rowStarts() {
        return rowStarts.clone();
    }

    private void check(int s) {
        if (s < 0 || s >= sequences()) {
            throw new Moe4jException("incremental output: sequence " + s + " out of [0, " + sequences() + ")");
        }
    }
}
