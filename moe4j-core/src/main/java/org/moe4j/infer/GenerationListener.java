package org.moe4j.infer;

/**
 * Receives a sequence's output as it is generated. The text deltas of {@link #onToken} and the trailing text of
 * {@link #onFinish}, joined, are the result's text. Called on the generating thread; keep it quick.
 */
public interface GenerationListener {
    /** Does nothing. */
    GenerationListener NONE = (id, delta) -> {};

    /**
     * A new token and the text it completes: often "" when the token ends inside a multi-byte character or might
     * begin a stop string (that text comes with a later token), always "" without a tokenizer.
     */
    void onToken(int id, String textDelta);

    /** The text held back until the end, then why generation ended. */
    default void onFinish(String trailingText, FinishReason reason) {}
}
