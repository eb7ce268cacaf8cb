package org.moe4j.model;

import java.util.List;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Variable;
import org.moe4j.moe.RouterStats;
import org.moe4j.tensor.IntTensor;

/**
 * One forward pass of a language model.
 *
 * @param logits      [batch, seq, vocab] next-token logits at every position
 * @param auxLoss     the MoE layers' auxiliary losses summed (a scalar, already weighted); null when none applies
 *                    (inference, a dense model, or loss weights of 0)
 * @param routerStats router telemetry of each MoE layer, in layer order
 */
public record LmOutput(Variable logits, Variable auxLoss, List<RouterStats> routerStats) {
    public LmOutput {
        routerStats = List.copyOf(routerStats);
    }

    /** Mean next-token cross-entropy (nats) against {@code targets} [batch, seq]; -100 marks ignored positions. */
    public Variable crossEntropy(IntTensor targets) {
        return Losses.crossEntropy(logits, targets);
    }

    /** The training loss: cross-entropy plus the auxiliary losses. */
    public Variable loss(IntTensor targets) {
        Variable ce = crossEntropy(targets);
        return auxLoss == null ? ce : Arith.add(ce, auxLoss);
    }
}
