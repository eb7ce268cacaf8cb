package org.moe4j.infer;

import java.util.List;

/**
 * What to generate after a prompt.
 *
 * @param maxTokens  the most tokens to generate, >= 1
 * @param sampling   how each token is drawn
 * @param stop       strings that end generation when they appear in the text (dropped from it); up to
 *                   {@link #MAX_STOPS}, none empty; need a tokenizer
 * @param ignoreEos  keep generating after the end-of-sequence token (for benchmarks)
 */
public record GenerationOptions(int maxTokens, SamplingParams sampling, List<String> stop, boolean ignoreEos) {
    /** OpenAI's limit on stop strings per request. */
    public static final int MAX_STOPS = 4;

    public GenerationOptions {
        if (maxTokens < 1) throw new InvalidRequestException("max_tokens", "must be >= 1, got " + maxTokens);
        if (sampling == null) throw new InvalidRequestException("sampling", "must be given");
        stop = stop == null ? List.of() : List.copyOf(stop);
        if (stop.size() > MAX_STOPS) {
            throw new InvalidRequestException("stop", "at most " + MAX_STOPS + " stop strings, got " + stop.size());
        }
        for (String s : stop) if (s.isEmpty()) throw new InvalidRequestException("stop", "a stop string is empty");
    }

    /** Up to {@code maxTokens} tokens drawn by {@code sampling}, stopping at the end-of-sequence token. */
    public static GenerationOptions of(int maxTokens, SamplingParams sampling) {
        return new GenerationOptions(maxTokens, sampling, List.of(), false);
    }

    public GenerationOptions withStop(List<String> strings) {
        return new GenerationOptions(maxTokens, sampling, strings, ignoreEos);
    }

    public GenerationOptions withIgnoreEos(boolean ignore) {
        return new GenerationOptions(maxTokens, sampling, stop, ignore);
    }
}
