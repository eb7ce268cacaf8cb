package org.moe4j.io.tokenizer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;

/**
 * {@link SpmTokenizer} on a handmade vocabulary, each case worked out by hand from llama.cpp's SPM tokenizer; the
 * fixtures made by llama.cpp itself are in {@code io.gguf.LlamaCppTokenizerTest}.
 */
class SpmTokenizerTest {
    @Test
    void sentencePieceMergesByScoreAndFallsBackToBytes() {
        List<String> tokens = List.of("<unk>", "<s>", "</s>", "\u2581", "a", "b", "c", "ab", "bc", "<0x41>", "<0xC3>",
                "<0xA9>", "[X]");
        float[] scores = {0, 0, 0, -1, -2, -2, -2, 5, 1, 0, 0, 0, 0};
        SpmTokenizer.Type[] types = new SpmTokenizer.Type[tokens.size()];
        Arrays.fill(types, SpmTokenizer.Type.NORMAL);
        types[0] = SpmTokenizer.Type.UNKNOWN;
        types[1] = types[2] = SpmTokenizer.Type.CONTROL;
        types[9] = types[10] = types[11] = SpmTokenizer.Type.BYTE;
        types[12] = SpmTokenizer.Type.USER_DEFINED;
        SpmTokenizer t = SpmTokenizer.of(tokens, scores, types, SpmTokenizer.Settings.defaults(tokens.size()));
        assertEquals(t.decode(t.encode("A\u00e9[X]a", true), false), streamed(t, t.encode("A\u00e9[X]a", true)));
        assertArrayEquals(new int[] {3, 7, 6}, t.encode("abc")); // "ab" (score 5) before "bc" (1)
        float[] bcFirst = scores.clone();
        bcFirst[8] = 6;
        assertArrayEquals(new int[] {3, 4, 8}, SpmTokenizer.of(tokens, bcFirst, types, t.settings()).encode("abc"));
        // bos; a space before the text and after a special token; 'A' and 'é' as bytes; [X] (user-defined) cut out
        int[] ids = t.encode("A\u00e9[X]a", true);
        assertArrayEquals(new int[] {1, 3, 9, 10, 11, 12, 3, 4}, ids);
        // as llama.cpp decodes: bos takes the first token's leading-space removal, shown only when asked
        assertEquals(" A\u00e9[X] a", t.decode(ids, true));
        assertEquals("<s> A\u00e9[X] a", t.decode(ids, false));
        assertEquals("A\u00e9[X] a", t.decode(Arrays.copyOfRange(ids, 1, ids.length), true));
        // the text of a control token is text unless special tokens are parsed; user-defined ones always match
        assertArrayEquals(new int[] {1, 12}, t.encode("<s>[X]"));
        assertEquals(12, t.encodeOrdinary("<s>[X]")[t.encodeOrdinary("<s>[X]").length - 1]);
        // a character with neither a token nor byte tokens: llama.cpp aborts, moe4j uses the unknown token
        assertArrayEquals(new int[] {3, 0}, t.encode("z"));
        SpmTokenizer noUnk = SpmTokenizer.of(tokens, scores, types, new SpmTokenizer.Settings(OptionalInt.of(1),
                OptionalInt.of(2), OptionalInt.empty(), OptionalInt.empty(), true, false, true));
        assertTrue(assertThrows(Moe4jException.class, () -> noUnk.encode("z")).getMessage().contains("<0x7A>"));
        // a vocabulary llama.cpp refuses is refused
        List<String> twice = new ArrayList<>(tokens);
        twice.set(8, "ab");
        assertTrue(assertThrows(Moe4jException.class, () -> SpmTokenizer.of(twice, scores, types, t.settings()))
                .getMessage().contains("both 'ab'"));
    }

    @Test
    void specialTokensAreCutOutLongestFirst() {
        // "<b>" and "<b><c>" both control tokens: the longer one is cut out first, wherever it is in the text
        List<String> tokens = List.of("<unk>", "<s>", "</s>", "\u2581", "x", "<b>", "<b><c>", "<0x3C>", "<0x63>",
                "<0x3E>");
        float[] scores = new float[tokens.size()];
        SpmTokenizer.Type[] types = new SpmTokenizer.Type[tokens.size()];
        Arrays.fill(types, SpmTokenizer.Type.NORMAL);
        types[0] = SpmTokenizer.Type.UNKNOWN;
        types[1] = types[2] = types[5] = types[6] = SpmTokenizer.Type.CONTROL;
        types[7] = types[8] = types[9] = SpmTokenizer.Type.BYTE;
        SpmTokenizer t = SpmTokenizer.of(tokens, scores, types, SpmTokenizer.Settings.defaults(tokens.size()));
        assertArrayEquals(new int[] {5, 3, 4, 6}, t.encode("<b>x<b><c>"));
        // without parsing special tokens their text is text: "<" "c" ">" have only byte tokens
        assertArrayEquals(new int[] {3, 4, 7, 8, 9}, t.encodeOrdinary("x<c>"));
        assertEquals("x<c>", t.decode(new int[] {3, 4, 7, 8, 9}));
        // llama_detokenize's remove_special: a leading bos goes, and then the next token keeps its space
        assertEquals(" x", new String(t.detokenize(new int[] {1, 3, 4}, true, true), UTF_8));
        assertEquals("<s> x", new String(t.detokenize(new int[] {1, 3, 4}, false, true), UTF_8));
    }

    private static String streamed(Tokenizer t, int[] ids) {
        StreamingDecoder d = new StreamingDecoder(t);
        StringBuilder out = new StringBuilder();
        for (int id : ids) out.append(d.push(id));
        return out.append(d.finish()).toString();
    }
}
