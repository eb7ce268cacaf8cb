package org.moe4j.moe;

import java.util.Arrays;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.IntTensor;

/**
 * What a router may know about the call besides the hidden states. Owned by the caller, never stored on a layer.
 *
 * @param layer          a name for errors and telemetry, e.g. "layers.3.moe"
 * @param training       training (noise, jitter, balanced assignment, train capacity) or inference
 * @param rng            randomness for noisy routers in training; may be null at inference
 * @param tokenIds       [tokens] input token ids, for hash routing; null when not known
 * @param sequenceStarts row index where each sequence starts, for per-sequence balance losses; null = one sequence
 * @param loadTracker    accumulates expert load over the micro-batches of one global batch; null = micro-batch scope
 */
public record RoutingContext(String layer, boolean training, Rng rng, IntTensor tokenIds, int[] sequenceStarts,
        LoadTracker loadTracker) {

    public static RoutingContext inference(String layer) {
        return new RoutingContext(layer, false, null, null, null, null);
    }

    public static RoutingContext training(String layer, Rng rng) {
        return new RoutingContext(layer, true, rng, null, null, null);
    }

    public RoutingContext withTokenIds(IntTensor ids) {
        return new RoutingContext(layer, training, rng, ids, sequenceStarts, loadTracker);
    }

    public RoutingContext withSequenceStarts(int[] starts) {
        return new RoutingContext(layer, training, rng, tokenIds, starts, loadTracker);
    }

    public RoutingContext withLoadTracker(LoadTracker tracker) {
        return new RoutingContext(layer, training, rng, tokenIds, sequenceStarts, tracker);
    }

    public RoutingContext withLayer(String name) {
        return new RoutingContext(name, training, rng, tokenIds, sequenceStarts, loadTracker);
    }

    /**
     * Checks that {@code starts} split {@code tokens} rows into sequences: from 0, strictly increasing, each below
     * {@code tokens} (and none when there are no rows). {@code who} begins the message.
     */
    static void checkSequenceStarts(String who, int[] starts, int tokens) {
        boolean valid = tokens == 0 ? starts.length == 0 : starts.length > 0 && starts[0] == 0;
        for (int s = 1; valid && s < starts.length; s++) valid = starts[s] > starts[s - 1];
        if (valid && starts.length > 0) valid = starts[starts.length - 1] < tokens;
        if (!valid) {
            throw new Moe4jException(who + ": sequence starts must begin at 0 and increase strictly below " + tokens
                    + " tokens, got " + Arrays.toString(starts));
        }
    }
}
