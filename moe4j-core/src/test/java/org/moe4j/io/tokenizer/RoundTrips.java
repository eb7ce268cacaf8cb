package org.moe4j.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.moe4j.common.Rng;

/** Texts every tokenizer must give back unchanged, shared by the tokenizer tests. */
final class RoundTrips {
    private RoundTrips() {}

    static final List<String> TEXTS = List.of(
            "",
            "In the beginning God created the heaven and the earth.",
            "I'll say it's 1611; they're here, we've done what you'd said.",
            "Café naïve façade — “quotes” … ½ €100",
            "日本語のテキスト、中文文本。한국어 Ὁ θεὸς ἀγάπη ἐστίν. Бог есть любовь.",
            "emoji 👍🏽 family 👨‍👩‍👧‍👦 flag 🇺🇸 😀😀😀",
            "   leading, trailing   ",
            "tabs\t\tand\r\nwindows\n\n\n  \n newlines \u00a0nbsp\u3000wide\u2028sep",
            "e\u0301 decomposed vs \u00e9 composed",
            "\u0000\u0001\u007f controls",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            " ".repeat(50) + "x" + "\n".repeat(20));

    /** Checks decode(encode(s)) == s on {@link #TEXTS} and on random strings of mixed scripts. */
    static void check(Tokenizer t) {
        for (String s : TEXTS) {
            assertEquals(s, t.decode(t.encode(s)), () -> "round trip of " + s);
            assertEquals(s, t.decode(t.encodeOrdinary(s)), () -> "ordinary round trip of " + s);
        }
        int[] cps = "ab Z9 \t\n'sé€😀\u3000,.-ﾟ𝔸".codePoints().toArray();
        Rng rng = new Rng(11);
        for (int trial = 0; trial < 200; trial++) {
            StringBuilder b = new StringBuilder();
            int n = rng.nextInt(40);
            for (int i = 0; i < n; i++) b.appendCodePoint(cps[rng.nextInt(cps.length)]);
            String s = b.toString();
            assertEquals(s, t.decode(t.encode(s)), () -> "round trip of " + s);
        }
    }
}
