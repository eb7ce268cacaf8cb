package org.moe4j.io.tokenizer;

/**
 * A token matched in the input text before pre-tokenization ({@code <|eos|>}, {@code [INST]}): its id, its text,
 * whether it is special (a control token that {@code decode(ids, true)} leaves out), and Hugging Face's matching
 * flags: {@code singleWord} (only where no word character touches it), {@code lstrip}/{@code rstrip} (the match takes
 * the whitespace to its left/right along), {@code normalized} (matched in the normalized text, by its normalized
 * form, rather than in the original text).
 */
public record AddedToken(int id, String content, boolean special, boolean singleWord, boolean lstrip, boolean rstrip,
        boolean normalized) {
    public AddedToken {
        if (id < 0) throw new IllegalArgumentException("AddedToken: negative id " + id);
        if (content == null || content.isEmpty()) throw new IllegalArgumentException("AddedToken: empty content");
    }

    /** A token without matching flags, normalized unless special (Hugging Face's default). */
    public AddedToken(int id, String content, boolean special) {
        this(id, content, special, false, false, false, !special);
    }
}
