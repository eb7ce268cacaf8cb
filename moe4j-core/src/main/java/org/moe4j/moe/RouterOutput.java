package org.moe4j.moe;

import org.moe4j.autograd.Variable;

/**
 * What a router returns. Most routers pick experts per token or tokens per expert ({@link Sparse}); SMEAR merges
 * the experts' parameters instead ({@link Merged}); Mixture of Tokens mixes tokens before the experts
 * ({@link TokenMix}).
 */
public sealed interface RouterOutput {
    /**
     * @param assignments the (token, expert, gate) triples
     * @param probs       [tokens, experts] router probabilities, for the load-balancing loss and entropy; null if none
     * @param logits      [tokens, experts] raw router logits, for the z-loss; null if none
     * @param routerLoss  the router's own auxiliary loss (already weighted), e.g. noisy top-k's importance and
     *                    load losses; null if none
     */
    record Sparse(Assignments assignments, Variable probs, Variable logits, Variable routerLoss) implements RouterOutput {}

    /**
     * @param weights [groups, experts] merge weights: group g runs one expert whose parameters are
     *                sum_e weights[g, e] * expert_e
     * @param groupOfToken [tokens] the group of each token
     * @param probs  [tokens or groups, experts] router probabilities for telemetry
     */
    record Merged(Variable weights, int[] groupOfToken, Variable probs) implements RouterOutput {}

    /**
     * @param mixing [groups, experts, groupSize] how much each token of a group contributes to each expert's input
     *               (softmax over the group), also used to redistribute the outputs
     * @param groupSize tokens per group
     * @param probs  router probabilities for telemetry
     */
    record TokenMix(Variable mixing, int groupSize, Variable probs) implements RouterOutput {}
}
