package org.moe4j.io.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Cuts the text of added (special) tokens out of a text before it is tokenized, as Hugging Face does: at each
 * position the longest token text that starts there wins, and the text between them is tokenized normally.
 */
final class AddedTokenSplitter {
    /** Receives the pieces in order: ordinary text with {@code id == -1}, or an added token's text and its id. */
    interface Sink {
        void accept(String piece, int id);
    }

    private final Map<String, Integer> ids;
    private final Pattern pattern; // null when there are no added tokens

    AddedTokenSplitter(Map<String, Integer> ids) {
        this.ids = Map.copyOf(ids);
        List<String> texts = new ArrayList<>(ids.keySet());
        // Alternatives are tried in order, so longest first gives leftmost-longest; ties in a fixed order.
        texts.sort(Comparator.comparingInt(String::length).reversed().thenComparing(Comparator.naturalOrder()));
        this.pattern = texts.isEmpty() ? null
                : Pattern.compile(texts.stream().map(Pattern::quote).collect(Collectors.joining("|")));
    }

    boolean isEmpty() {
        return pattern == null;
    }

    /** Feeds {@code text} to {@code sink} as pieces; empty ordinary pieces are left out. */
    void split(String text, Sink sink) {
        if (pattern == null) {
            if (!text.isEmpty()) sink.accept(text, -1);
            return;
        }
        Matcher m = pattern.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) sink.accept(text.substring(last, m.start()), -1);
            sink.accept(m.group(), ids.get(m.group()));
            last = m.end();
        }
        if (last < text.length()) sink.accept(text.substring(last), -1);
    }
}
