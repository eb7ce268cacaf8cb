package org.moe4j.moe;

import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;

/**
 * What a router decided: assignment {@code a} sends token {@code token[a]} to expert {@code expert[a]} with gate
 * {@code gates[a]}; {@code score[a]} orders assignments when capacity forces drops (higher is kept first).
 * Token-choice routers list assignments token by token, slot by slot; a token may have any number of them
 * (zero for a token routed only to null experts).
 *
 * @param tokens how many tokens were routed
 * @param experts how many (real) experts there are
 * @param token   [A] the token of each assignment
 * @param expert  [A] the expert of each assignment, in [0, experts)
 * @param gates   [A] differentiable gate weights (or constants for routers whose gates carry no gradient)
 * @param score   [A] the router's preference, used only to choose what to drop
 */
public record Assignments(int tokens, int experts, int[] token, int[] expert, Variable gates, float[] score) {
    public Assignments {
        int a = token.length;
        if (expert.length != a || score.length != a || gates.rank() != 1 || gates.dim(0) != a) {
            throw new Moe4jException("assignments: token, expert, gates and score must all have " + a + " entries");
        }
        for (int i = 0; i < a; i++) {
            if (token[i] < 0 || token[i] >= tokens) {
                throw new Moe4jException("assignments: token " + token[i] + " out of range [0, " + tokens + ")");
            }
            if (expert[i] < 0 || expert[i] >= experts) {
                throw new Moe4jException("assignments: expert " + expert[i] + " out of range [0, " + experts + ")");
            }
        }
    }

    public int size() {
        return token.length;
    }

    /** Tokens routed to each expert before any capacity limit. */
    public int[] loadPerExpert() {
        int[] load = new int[experts];
        for (int e : expert) load[e]++;
        return load;
    }
}
