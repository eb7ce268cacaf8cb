package org.moe4j.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ByteLevelTest {
    @Test
    void knownImagesFromGpt2sTable() {
        assertEquals('Ġ', ByteLevel.charOf(' ')); // U+0120, the space every GPT-2 word token starts with
        assertEquals('Ċ', ByteLevel.charOf('\n')); // U+010A
        assertEquals('ĉ', ByteLevel.charOf('\t')); // U+0109
        assertEquals('Ā', ByteLevel.charOf(0)); // U+0100: the first non-printable byte
        assertEquals('ġ', ByteLevel.charOf(0x7F)); // DEL follows the 33 controls and space: U+0100 + 33
        assertEquals('Ń', ByteLevel.charOf(0xAD)); // soft hyphen, the last one: U+0100 + 67
        assertEquals('A', ByteLevel.charOf('A'));
        assertEquals('é', ByteLevel.charOf(0xE9)); // printable Latin-1 stands for itself
    }

    @Test
    void theMapIsABijectionOnto256PrintableCharacters() {
        Set<Character> images = new HashSet<>();
        for (int b = 0; b < 256; b++) {
            char c = ByteLevel.charOf(b);
            assertTrue(images.add(c), "byte " + b + " shares its image");
            assertEquals(b, ByteLevel.byteOf(c));
            assertFalse(Character.isWhitespace(c) || Character.isISOControl(c), "byte " + b + " maps to " + (int) c);
        }
        assertEquals(-1, ByteLevel.byteOf(' '), "a space is not in the alphabet: it is written Ġ");
        assertEquals(-1, ByteLevel.byteOf('€'));
    }

    @Test
    void encodeAndDecodeAreInverse() {
        byte[] all = new byte[256];
        for (int b = 0; b < 256; b++) all[b] = (byte) b;
        assertArrayEquals(all, ByteLevel.decode(ByteLevel.encode(all)));
        assertEquals("ĠhelloĊ", ByteLevel.encode(" hello\n"));
        assertEquals("Ã©", ByteLevel.encode("é")); // é is C3 A9 in UTF-8
    }

    @Test
    void aStringOutsideTheAlphabetDecodesToItsOwnUtf8() {
        // As Hugging Face's ByteLevel decoder: one character outside the alphabet and the whole token is taken as is.
        assertArrayEquals("<|im start|>".getBytes(StandardCharsets.UTF_8), ByteLevel.decode("<|im start|>"));
        assertArrayEquals("Ġ€".getBytes(StandardCharsets.UTF_8), ByteLevel.decode("Ġ€"));
        assertTrue(ByteLevel.isByteLevel("Ġhello"));
        assertFalse(ByteLevel.isByteLevel(" hello"));
    }
}
