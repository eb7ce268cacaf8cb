package org.moe4j.io.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Finds added tokens in a text as Hugging Face's {@code AddedVocabulary} does, flags included: the leftmost-longest
 * match at each step; a {@code singleWord} token touching a word character is skipped; {@code lstrip}/{@code rstrip}
 * take the whitespace beside the match along (not past the previous match); special tokens are skipped when
 * {@code skipSpecial} (Hugging Face's {@code encode_special_tokens}).
 */
final class AddedTokenMatcher {
    /** Receives the pieces in order: text between matches with {@code token == null}, or a match and its token. */
    interface Sink {
        void accept(int start, int end, AddedToken token);
    }

    private static final Pattern WORD_AT_START = Pattern.compile("^\\w", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern WORD_AT_END = Pattern.compile("\\w$", Pattern.UNICODE_CHARACTER_CLASS);

    private final Map<String, AddedToken> byText; // the text matched -> token
    private final Pattern pattern; // null when there is nothing to match

    /** Matches each token by {@code texts.get(token)}, its content or its normalized content. */
    AddedTokenMatcher(Map<AddedToken, String> texts) {
        byText = new LinkedHashMap<>();
        texts.forEach((token, text) -> {
            if (!text.isEmpty()) byText.putIfAbsent(text, token);
        });
        List<String> sorted = new ArrayList<>(byText.keySet());
        // Alternatives are tried in order, so longest first gives leftmost-longest; ties in a fixed order.
        sorted.sort(Comparator.comparingInt(String::length).reversed().thenComparing(Comparator.naturalOrder()));
        pattern = sorted.isEmpty() ? null
                : Pattern.compile(sorted.stream().map(Pattern::quote).collect(Collectors.joining("|")));
    }

    /** Feeds the pieces of {@code text} to {@code sink}; empty text between matches is left out. */
    void split(String text, boolean skipSpecial, Sink sink) {
        int done = 0;
        if (pattern != null) {
            Matcher m = pattern.matcher(text);
            while (m.find()) {
                AddedToken t = byText.get(m.group());
                int start = m.start(), end = m.end();
                if (skipSpecial && t.special()) continue;
                if (t.singleWord() && ((start > 0 && WORD_AT_END.matcher(text.substring(0, start)).find())
                        || (end < text.length() && WORD_AT_START.matcher(text.substring(end)).find()))) {
                    continue;
                }
                if (t.lstrip()) {
                    int s = start;
                    while (s > 0 && isSpace(text.codePointBefore(s))) s -= Character.charCount(text.codePointBefore(s));
                    start = Math.max(s, done);
                }
                if (t.rstrip()) {
                    while (end < text.length() && isSpace(text.codePointAt(end))) {
                        end += Character.charCount(text.codePointAt(end));
                    }
                }
                if (start > done) sink.accept(done, start, null);
                sink.accept(start, end, t);
                done = end;
            }
        }
        if (done < text.length()) sink.accept(done, text.length(), null);
    }

    /** Rust's {@code \s}: Unicode White_Space. */
    private static boolean isSpace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
    }
}
