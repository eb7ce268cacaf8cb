package org.moe4j.infer;

/**
 * How the next token is drawn from the logits. The filters apply in this order, as Hugging Face's and vLLM's
 * samplers do: divide the logits by the temperature, keep the {@code topK} most likely tokens, then the smallest
 * set of those whose probabilities (renormalised over them) reach {@code topP}, then those at least {@code minP}
 * times as likely as the most likely token; draw from what is left, renormalised. Ties in likelihood go to the lower
 * token id.
 *
 * @param temperature 0 for greedy decoding (the most likely token, the lowest id among equals; the other filters
 *                    and the seed then do not matter), else positive and finite
 * @param topK        keep this many tokens; 0 keeps all
 * @param topP        nucleus mass in (0, 1]; 1 keeps all
 * @param minP        in [0, 1]; 0 keeps all
 * @param seed        seeds the draws: the same seed, logits and parameters give the same tokens
 */
public record SamplingParams(double temperature, int topK, double topP, double minP, long seed) {
    /** Greedy decoding. */
    public static final SamplingParams GREEDY = new SamplingParams(0, 0, 1, 0, 0);

    public SamplingParams {
        if (!Double.isFinite(temperature) || temperature < 0) {
            throw new InvalidRequestException("temperature", "must be a finite number >= 0 (0 = greedy), got " + temperature);
        }
        if (topK < 0) throw new InvalidRequestException("top_k", "must be >= 0 (0 = no limit), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new InvalidRequestException("top_p", "must be in (0, 1] (1 = no limit), got " + topP);
        if (!(minP >= 0 && minP <= 1)) throw new InvalidRequestException("min_p", "must be in [0, 1] (0 = no limit), got " + minP);
    }

    /** Plain sampling at {@code temperature} with no filters. */
    public static SamplingParams of(double temperature, long seed) {
        return new SamplingParams(temperature, 0, 1, 0, seed);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public SamplingParams withTemperature(double t) {
        return new SamplingParams(t, topK, topP, minP, seed);
    }

    public SamplingParams withTopK(int k) {
        return new SamplingParams(temperature, k, topP, minP, seed);
    }

    public SamplingParams withTopP(double p) {
        return new SamplingParams(temperature, topK, p, minP, seed);
    }

    public SamplingParams withMinP(double p) {
        return new SamplingParams(temperature, topK, topP, p, seed);
    }

    public SamplingParams withSeed(long s) {
        return new SamplingParams(temperature, topK, topP, minP, s);
    }
}
