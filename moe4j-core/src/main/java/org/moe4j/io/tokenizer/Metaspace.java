package org.moe4j.io.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Hugging Face's {@code Metaspace} pre-tokenizer (SentencePiece's view of spaces): every space becomes
 * {@code replacement} ("▁"), which is also put before the text ({@code Always}), before the text only where it
 * starts the input ({@code First}), or never; with {@code split}, the text is cut before each run of replacements.
 *
 * @param replacement one code point, as a string
 */
public record Metaspace(String replacement, PrependScheme prependScheme, boolean split) {
    /** Where a replacement is put before a piece of text that does not start with one. */
    public enum PrependScheme {
        FIRST, NEVER, ALWAYS;

        /** The name in {@code tokenizer.json}. */
        public String jsonName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public Metaspace {
        if (replacement == null || replacement.codePointCount(0, replacement.length()) != 1) {
            throw new IllegalArgumentException("Metaspace: the replacement must be one character, not " + replacement);
        }
    }

    /**
     * The pieces of {@code text}; {@code atInputStart} says whether the text starts the input (for {@code FIRST}).
     * Pieces are cut before each run of replacements, a run staying with the text after it, as Hugging Face's
     * {@code MergedWithNext} does.
     */
    List<String> split(String text, boolean atInputStart) {
        text = text.replace(" ", replacement);
        boolean prepend = switch (prependScheme) {
            case ALWAYS -> true;
            case FIRST -> atInputStart;
            case NEVER -> false;
        };
        if (prepend && !text.isEmpty() && !text.startsWith(replacement)) text = replacement + text;
        List<String> pieces = new ArrayList<>();
        if (!split) {
            if (!text.isEmpty()) pieces.add(text);
            return pieces;
        }
        int start = 0;
        boolean previousWasReplacement = false;
        for (int i = 0; i < text.length(); ) {
            boolean isReplacement = text.startsWith(replacement, i);
            if (isReplacement && !previousWasReplacement && i > start) {
                pieces.add(text.substring(start, i));
                start = i;
            }
            previousWasReplacement = isReplacement;
            i += isReplacement ? replacement.length() : Character.charCount(text.codePointAt(i));
        }
        if (start < text.length()) pieces.add(text.substring(start));
        return pieces;
    }
}
