package org.moe4j.moe;

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
}
