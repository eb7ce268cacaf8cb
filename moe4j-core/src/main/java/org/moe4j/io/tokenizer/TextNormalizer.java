package org.moe4j.io.tokenizer;

import java.text.Normalizer;
import java.util.List;

/**
 * One step of a {@code tokenizer.json} normalizer, as Hugging Face applies it to each stretch of text between
 * added tokens: {@code Prepend} (puts a string before non-empty text, as Llama's "▁"), {@code Replace} with a
 * literal pattern (Llama's space to "▁"), or a Unicode normalization form.
 */
sealed interface TextNormalizer {
    String apply(String text);

    /** Prepends {@code prepend} to non-empty text. */
    record Prepend(String prepend) implements TextNormalizer {
        @Override
        public String apply(String text) {
            return text.isEmpty() ? text : prepend + text;
        }
    }

    /** Replaces every occurrence of {@code pattern} (non-empty, matched literally, left to right) by {@code content}. */
    record Replace(String pattern, String content) implements TextNormalizer {
        @Override
        public String apply(String text) {
            return text.replace(pattern, content);
        }
    }

    /** Unicode normalization. */
    record Unicode(Normalizer.Form form) implements TextNormalizer {
        @Override
        public String apply(String text) {
            return Normalizer.normalize(text, form);
        }
    }

    /** Applies {@code steps} in order. */
    static String applyAll(List<TextNormalizer> steps, String text) {
        for (TextNormalizer n : steps) text = n.apply(text);
        return text;
    }
}
