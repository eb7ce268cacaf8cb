package org.moe4j.io.tokenizer;

/**
 * Lossy UTF-8 decoding as the Unicode Standard recommends (section 3.9, "U+FFFD substitution of maximal
 * subparts") and as Rust's {@code String::from_utf8_lossy}, which Hugging Face uses, does: each maximal prefix of
 * a well-formed sequence that cannot be completed becomes one U+FFFD, and so does each byte that cannot start one.
 * Java's own decoder replaces some sequences (encoded surrogates) with a different number of U+FFFD, so decoded
 * text would not match theirs.
 */
final class Utf8 {
    private Utf8() {}

    static String decode(byte[] b, int offset, int length) {
        StringBuilder out = new StringBuilder(length);
        int i = offset, end = offset + length;
        while (i < end) {
            int b0 = b[i] & 0xFF;
            if (b0 < 0x80) {
                out.append((char) b0);
                i++;
                continue;
            }
            int need, lo = 0x80, hi = 0xBF; // continuation bytes to come; the range allowed for the first of them
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                need = 2;
                if (b0 == 0xE0) lo = 0xA0; // no overlong forms
                if (b0 == 0xED) hi = 0x9F; // no surrogates
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                need = 3;
                if (b0 == 0xF0) lo = 0x90; // no overlong forms
                if (b0 == 0xF4) hi = 0x8F; // nothing above U+10FFFF
            } else {
                out.append('\uFFFD'); // a continuation byte, C0, C1 or F5..FF cannot start a character
                i++;
                continue;
            }
            int cp = b0 & (0x3F >> need);
            int j = i + 1;
            boolean ok = true;
            for (int k = 0; k < need; k++, j++) {
                int c = j < end ? b[j] & 0xFF : -1;
                if (c < (k == 0 ? lo : 0x80) || c > (k == 0 ? hi : 0xBF)) {
                    ok = false;
                    break;
                }
                cp = (cp << 6) | (c & 0x3F);
            }
            if (ok) {
                out.appendCodePoint(cp);
            } else {
                out.append('\uFFFD'); // the lead and the valid continuation bytes before the bad one
            }
            i = j;
        }
        return out.toString();
    }

    static String decode(byte[] b) {
        return decode(b, 0, b.length);
    }
}
