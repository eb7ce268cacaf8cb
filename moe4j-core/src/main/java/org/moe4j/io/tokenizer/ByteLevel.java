package org.moe4j.io.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * GPT-2's reversible map between bytes and printable characters, which byte-level BPE vocabularies are written in:
 * the printable Latin-1 bytes ({@code '!'..'~'}, {@code '¡'..'¬'}, {@code '®'..'ÿ'}) stand for themselves, and the
 * other 68 bytes (controls, space, DEL, NBSP, soft hyphen) take the characters from U+0100 upward in byte order,
 * so a space is {@code 'Ġ'} (U+0120) and a newline {@code 'Ċ'} (U+010A). Every token string is then visible text.
 */
public final class ByteLevel {
    private ByteLevel() {}

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[324]; // the images are all below U+0144; -1 for none

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = (char) (printable ? b : next++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    /** The character standing for byte {@code b} (0..255, or a signed Java byte). */
    public static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte that {@code c} stands for, or -1 when {@code c} is not in the byte-level alphabet. */
    public static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** The byte-level string of {@code bytes}: one character per byte. */
    public static String encode(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        return new String(out);
    }

    /** The byte-level string of the UTF-8 bytes of {@code text}. */
    public static String encode(String text) {
        return encode(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The bytes a token string stands for, as Hugging Face's {@code ByteLevel} decoder reads it: when every
     * character is in the alphabet, the bytes they stand for; otherwise (a special token with a space, a
     * hand-edited vocabulary) the string's own UTF-8 bytes, so nothing is lost or thrown.
     */
    public static byte[] decode(String s) {
        byte[] out = new byte[s.length()];
        for (int i = 0; i < s.length(); i++) {
            int b = byteOf(s.charAt(i));
            if (b < 0) return s.getBytes(StandardCharsets.UTF_8);
            out[i] = (byte) b;
        }
        return out;
    }

    /** Whether every character of {@code s} is in the alphabet, i.e. {@link #decode} is the exact inverse. */
    public static boolean isByteLevel(String s) {
        for (int i = 0; i < s.length(); i++) if (byteOf(s.charAt(i)) < 0) return false;
        return true;
    }
}
