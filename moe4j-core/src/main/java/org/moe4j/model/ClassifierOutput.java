package org.moe4j.model;

import java.util.List;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Variable;
import org.moe4j.moe.RouterStats;
import org.moe4j.tensor.IntTensor;

/**
 * One classifier call's result.
 *
 * @param logits  [batch, classes] unnormalised class scores
 * @param auxLoss the summed, already weighted auxiliary losses of every MoE layer (a scalar); null when none
 * @param stats   router telemetry of each MoE layer, in layer order (empty for dense models)
 */
public record ClassifierOutput(Variable logits, Variable auxLoss, List<RouterStats> stats) {
    public ClassifierOutput {
        stats = List.copyOf(stats);
    }

    /** Mean cross-entropy of the logits against {@code targets} [batch]. */
    public Variable crossEntropy(IntTensor targets) {
        return Losses.crossEntropy(logits, targets);
    }

    /** The training objective: cross-entropy plus the auxiliary loss, when there is one. */
    public Variable loss(IntTensor targets) {
        Variable ce = crossEntropy(targets);
        return auxLoss == null ? ce : Arith.add(ce, auxLoss);
    }
}
