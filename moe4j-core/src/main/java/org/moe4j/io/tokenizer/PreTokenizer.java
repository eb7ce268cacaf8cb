package org.moe4j.io.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.moe4j.common.Moe4jException;

/**
 * Splits text into the pieces BPE merges within (merges never cross a piece boundary). The default is GPT-2's
 * regex: English contractions, letters with an optional leading space, digits likewise, other symbols likewise,
 * and whitespace, where a run of spaces before a word leaves its last space to the word. As in Hugging Face's
 * {@code Split} with behaviour {@code Isolated}, text between matches (none for GPT-2's regex, which matches
 * everything) becomes a piece of its own. {@code \s} is Unicode whitespace, as in the Rust implementation.
 */
public final class PreTokenizer {
    /** GPT-2's pre-tokenizer regex, as Hugging Face's {@code ByteLevel} pre-tokenizer uses it. */
    public static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private static final PreTokenizer GPT2 = new PreTokenizer(GPT2_PATTERN, false);

    private final String regex;
    private final Pattern pattern;
    private final boolean addPrefixSpace;

    private PreTokenizer(String regex, boolean addPrefixSpace) {
        this.regex = regex;
        this.pattern = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        this.addPrefixSpace = addPrefixSpace;
    }

    /** GPT-2's regex, no prefix space. */
    public static PreTokenizer gpt2() {
        return GPT2;
    }

    /**
     * A pre-tokenizer splitting on {@code regex}; with {@code addPrefixSpace} a space is put before text that does
     * not start with one (so a first word tokenizes like any other). A regex Java cannot compile is a
     * {@link Moe4jException}.
     */
    public static PreTokenizer of(String regex, boolean addPrefixSpace) {
        if (regex.equals(GPT2_PATTERN) && !addPrefixSpace) return GPT2;
        try {
            return new PreTokenizer(regex, addPrefixSpace);
        } catch (PatternSyntaxException e) {
            throw new Moe4jException("pre-tokenizer: the regex " + regex + " does not compile in Java: "
                    + e.getDescription(), e);
        }
    }

    /** The regex. */
    public String regex() {
        return regex;
    }

    /** Whether a space is put before text that does not start with one. */
    public boolean addPrefixSpace() {
        return addPrefixSpace;
    }

    /** Feeds the pieces of {@code text} to {@code pieces} in order; they concatenate to the (prefixed) text. */
    public void split(String text, Consumer<String> pieces) {
        if (addPrefixSpace && !text.startsWith(" ")) text = " " + text;
        Matcher m = pattern.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) pieces.accept(text.substring(last, m.start()));
            if (m.end() > m.start()) pieces.accept(m.group());
            last = m.end();
        }
        if (last < text.length()) pieces.accept(text.substring(last));
    }

    /** The pieces of {@code text}. */
    public List<String> split(String text) {
        List<String> out = new ArrayList<>();
        split(text, out::add);
        return out;
    }

    @Override
    public String toString() {
        return "PreTokenizer[regex=" + regex + ", addPrefixSpace=" + addPrefixSpace + "]";
    }
}
