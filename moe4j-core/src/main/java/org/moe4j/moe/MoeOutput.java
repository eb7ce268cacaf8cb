package org.moe4j.moe;

import org.moe4j.autograd.Variable;

/**
 * One MoE layer call's result.
 *
 * @param output  the layer output, shaped like its input
 * @param auxLoss the weighted sum of the layer's auxiliary losses (a scalar); null when none is configured
 * @param stats   router telemetry of this call
 */
public record MoeOutput(Variable output, Variable auxLoss, RouterStats stats) {}
