package org.moe4j.train.report;

import java.util.List;
import java.util.Objects;

/**
 * Which tokens each expert of one MoE layer prefers, from an evaluation pass: for each expert, its most frequent
 * input tokens by share of that expert's assignments.
 *
 * @param layer   the layer's name, as in the routing records
 * @param experts one entry per expert, in expert order
 */
public record ExpertTokens(String layer, List<Expert> experts) {
    public ExpertTokens {
        Objects.requireNonNull(layer, "layer");
        experts = List.copyOf(experts);
    }

    /**
     * @param assignments tokens routed to this expert
     * @param layerShare  this expert's share of the layer's assignments (0..1)
     * @param top         its most frequent tokens, most frequent first
     */
    public record Expert(long assignments, double layerShare, List<TokenShare> top) {
        public Expert {
            top = List.copyOf(top);
        }
    }

    /**
     * @param token   the token as text, whitespace made visible
     * @param count   assignments of this token to the expert
     * @param share   count over the expert's assignments (0..1)
     * @param lift    share over the token's share of all evaluated tokens: above 1 means the expert prefers it
     */
    public record TokenShare(String token, long count, double share, double lift) {}
}
