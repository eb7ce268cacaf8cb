package org.moe4j.model;

import org.moe4j.autograd.Variable;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.RoutingContext;

/** One residual block of a classifier head: {@link MoeBlock} or {@link DenseBlock}. */
sealed interface HeadBlock permits MoeBlock, DenseBlock {
    /** The block's result: the new hidden state, its auxiliary loss (or null) and telemetry (or null). */
    record Output(Variable hidden, Variable auxLoss, RouterStats stats) {}

    /** h [rows, width]; {@code name} is the layer's telemetry name. */
    Output forward(Variable h, RoutingContext ctx, String name, double dropout);

    long parameterCount();

    long activeParameterCount();
}
