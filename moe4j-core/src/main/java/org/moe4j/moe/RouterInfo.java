package org.moe4j.moe;

import java.util.function.BiFunction;
import org.moe4j.common.Rng;

/**
 * A router's entry in the catalog: the name the CLI takes ({@code --router topk}), its paper, two lines on what it
 * does, and how to build one with default settings for a layer's configuration.
 */
public record RouterInfo(String name, String paper, String summary, BiFunction<MoeConfig, Rng, Router> factory) {
    public Router create(MoeConfig config, Rng rng) {
        return factory.apply(config, rng);
    }
}
