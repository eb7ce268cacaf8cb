package org.moe4j.infer;

/**
 * One finished generation.
 *
 * @param promptIds        the prompt's token ids
 * @param ids              the generated token ids (an end-of-sequence token included; tokens after a stop string
 *                         too, though their text is cut)
 * @param text             the generated text (without the prompt, the end-of-sequence token or a stop string);
 *                         "" without a tokenizer
 * @param finishReason     why it ended
 * @param promptNanos      time of the prefill step, which also gives the first generated token
 * @param generationNanos  time of the decode steps after it
 */
public record GenerationResult(int[] promptIds, int[] ids, String text, FinishReason finishReason, long promptNanos,
        long generationNanos) {
    public GenerationResult {
        promptIds = promptIds.clone();
        ids = ids.clone();
    }

    @Override
    public int[] promptIds() {
        return promptIds.clone();
    }

    @Override
    public int[] ids() {
        return ids.clone();
    }

    public int promptTokens() {
        return promptIds.length;
    }

    public int generatedTokens() {
        return ids.length;
    }

    /** Prompt tokens per second of prefill. */
    public double promptTokensPerSecond() {
        return promptNanos == 0 ? 0 : promptIds.length * 1e9 / promptNanos;
    }

    /** Tokens per second of decoding: the tokens after the first (which the prefill gives) over the decode time. */
    public double generationTokensPerSecond() {
        return generationNanos == 0 || ids.length < 2 ? 0 : (ids.length - 1) * 1e9 / generationNanos;
    }
}
