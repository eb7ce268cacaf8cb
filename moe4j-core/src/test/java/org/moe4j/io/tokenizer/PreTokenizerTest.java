package org.moe4j.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

/** GPT-2's split, checked by hand against the regex's alternatives. */
class PreTokenizerTest {
    private static List<String> split(String text) {
        return PreTokenizer.gpt2().split(text);
    }

    @Test
    void wordsKeepTheirLeadingSpaceAndARunOfSpacesLeavesItsLastToTheWord() {
        assertEquals(List.of("Hello", " world", "'s", " ", " test"), split("Hello world's  test"));
        assertEquals(List.of("a", "  \n"), split("a  \n"), "trailing whitespace is one piece");
        assertEquals(List.of("a", "\n", " b"), split("a\n b"));
    }

    @Test
    void contractionsNumbersAndSymbols() {
        assertEquals(List.of("I", "'ll", " 123", "abc", "!!", " ?!"), split("I'll 123abc!! ?!"));
        assertEquals(List.of("DON", "'", "T"), split("DON'T"), "contractions are lower case only, as in GPT-2");
        assertEquals(List.of(" 3", ".", "14"), split(" 3.14"));
    }

    @Test
    void unicodeLettersDigitsAndWhitespace() {
        assertEquals(List.of("Café", " naïve"), split("Café naïve"));
        assertEquals(List.of("日本語"), split("日本語"));
        assertEquals(List.of(" ٣٤٥"), split(" ٣٤٥"), "Arabic-Indic digits are \\p{N}");
        // U+3000 (ideographic space) is whitespace as in Unicode, not a symbol.
        assertEquals(List.of("a", "\u3000", "b"), split("a\u3000b"));
        assertEquals(List.of("hi", " 👍🏽!"), split("hi 👍🏽!"), "emoji and punctuation are one symbol run");
    }

    @Test
    void piecesAlwaysConcatenateToTheText() {
        Rng rng = new Rng(7);
        String alphabet = "ab Z9 \t\n'sé€😀\u3000,.-";
        int[] cps = alphabet.codePoints().toArray();
        for (int trial = 0; trial < 300; trial++) {
            StringBuilder b = new StringBuilder();
            int n = rng.nextInt(30);
            for (int i = 0; i < n; i++) b.appendCodePoint(cps[rng.nextInt(cps.length)]);
            String text = b.toString();
            List<String> pieces = split(text);
            assertEquals(text, String.join("", pieces));
            assertTrue(pieces.stream().noneMatch(String::isEmpty));
        }
    }

    @Test
    void prefixSpaceAndCustomRegex() {
        assertEquals(List.of(" Hello", " world"), PreTokenizer.of(PreTokenizer.GPT2_PATTERN, true).split("Hello world"));
        assertEquals(List.of(" x"), PreTokenizer.of(PreTokenizer.GPT2_PATTERN, true).split(" x"));
        // Text between matches is kept as pieces of its own (Hugging Face's Isolated behaviour).
        assertEquals(List.of("ab", "12", "cd"), PreTokenizer.of("\\d+", false).split("ab12cd"));
        Moe4jException e = assertThrows(Moe4jException.class, () -> PreTokenizer.of("(unclosed", false));
        assertTrue(e.getMessage().contains("(unclosed"), e.getMessage());
    }
}
