package org.moe4j.infer;

/** Why a sequence stopped growing. */
public enum FinishReason {
    /** The model produced the end-of-sequence token (it is kept in the ids, not in the text). */
    END_OF_SEQUENCE("stop"),
    /** The text reached one of the stop strings (cut from the text before it). */
    STOP_STRING("stop"),
    /** The requested number of tokens was generated. */
    MAX_TOKENS("length"),
    /** The sequence filled the model's context (maxSeqLen). */
    CONTEXT_FULL("length"),
    /** The caller stopped it (a client that went away, a timeout). */
    CANCELLED("cancelled"),
    /** Drawing a token failed (e.g. the model's logits were not finite); see {@link GenerationSequence#error()}. */
    ERROR("error");

    private final String apiName;

    FinishReason(String apiName) {
        this.apiName = apiName;
    }

    /** The name OpenAI's API gives it: "stop" or "length" ("cancelled" and "error" are ours). */
    public String apiName() {
        return apiName;
    }
}
