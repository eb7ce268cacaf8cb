package org.moe4j.io.tokenizer;

/**
 * A token matched in the input text before pre-tokenization ({@code <|eos|>}, {@code <|im_start|>}): its id, its
 * text, and whether it is special (a control token that {@code decode(ids, true)} leaves out).
 */
public record AddedToken(int id, String content, boolean special) {
    public AddedToken {
        if (id < 0) throw new IllegalArgumentException("AddedToken: negative id " + id);
        if (content == null || content.isEmpty()) throw new IllegalArgumentException("AddedToken: empty content");
    }
}
