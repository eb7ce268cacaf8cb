package org.moe4j.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;

class Utf8Test {
    private static String decode(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) bytes[i];
        return Utf8.decode(b);
    }

    @Test
    void validTextDecodesAsJavaDecodesIt() {
        int[] cps = "aé€😀\u0000\u07ff\u0800\uffff".codePoints().toArray();
        Rng rng = new Rng(5);
        for (int trial = 0; trial < 500; trial++) {
            StringBuilder s = new StringBuilder();
            for (int i = rng.nextInt(20); i > 0; i--) {
                s.appendCodePoint(rng.nextInt(3) == 0 ? 0x10000 + rng.nextInt(0x100000) : cps[rng.nextInt(cps.length)]);
            }
            byte[] b = s.toString().getBytes(StandardCharsets.UTF_8);
            assertEquals(s.toString(), Utf8.decode(b));
        }
    }

    /** One U+FFFD per maximal subpart (Unicode 3.9, table 3-8's examples), worked out by hand. */
    @Test
    void invalidSequencesBecomeOneReplacementPerMaximalSubpart() {
        assertEquals("\uFFFD\uFFFD\uFFFD", decode(0xED, 0xA0, 0x80), "an encoded surrogate: ED then two strays");
        assertEquals("\uFFFD\uFFFD", decode(0xC0, 0xAF), "C0 can never start a character");
        assertEquals("\uFFFD\uFFFD", decode(0xE0, 0x80), "overlong: 80 is not allowed after E0");
        assertEquals("\uFFFD", decode(0xF0, 0x9F, 0x98), "a truncated emoji is one subpart");
        assertEquals("\uFFFDA", decode(0xE2, 0x82, 0x41));
        assertEquals("\uFFFD\uFFFD\uFFFD\uFFFD", decode(0xF4, 0x90, 0x80, 0x80), "above U+10FFFF");
        assertEquals("\uFFFD\uFFFD", decode(0x80, 0xBF));
        assertEquals("\uFFFD€", decode(0xE2, 0xE2, 0x82, 0xAC), "a lead byte always starts afresh");
    }
}
