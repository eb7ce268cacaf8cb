package org.moe4j.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;

class ByteTokenizerTest {
    private final ByteTokenizer t = new ByteTokenizer();

    @Test
    void idsAreTheUtf8BytesThenTheSpecials() {
        assertEquals(259, t.vocabSize());
        assertArrayEquals(new int[] {72, 105, 0xC3, 0xA9}, t.encode("Hié"));
        assertEquals(OptionalInt.of(256), t.bosId());
        assertEquals(OptionalInt.of(257), t.eosId());
        assertEquals(OptionalInt.of(258), t.padId());
        assertEquals("<|eos|>", t.tokenString(257));
        assertEquals("Ġ", t.tokenString(' '));
        assertEquals(OptionalInt.of(32), t.tokenId("Ġ"));
        assertEquals(OptionalInt.of(257), t.tokenId("<|eos|>"));
        assertTrue(t.isSpecial(256));
        assertFalse(t.isSpecial(255));
    }

    @Test
    void specialTextBecomesItsIdUnlessOrdinary() {
        assertArrayEquals(new int[] {256, 'a', 257, 257, 'b'}, t.encode("<|bos|>a<|eos|><|eos|>b"));
        assertEquals(15, t.encodeOrdinary("<|bos|>a<|eos|>").length);
        assertEquals("<|bos|>a<|eos|>", t.decode(new int[] {256, 'a', 257}));
        assertEquals("a", t.decode(new int[] {256, 'a', 257}, true));
    }

    @Test
    void roundTrips() {
        RoundTrips.check(t);
        RoundTrips.check(new ByteTokenizer(List.of()));
    }

    @Test
    void invalidUtf8DecodesToReplacementCharacters() {
        assertEquals("\uFFFD", t.decode(new int[] {0xFF}));
        assertEquals("a\uFFFDb", t.decode(new int[] {'a', 0xE2, 0x82, 'b'}), "a truncated € between letters");
        assertEquals("\uFFFD", t.decode(new int[] {0xF0, 0x9F, 0x98}), "a truncated emoji at the end");
        assertEquals("€", t.decode(new int[] {0xE2, 0x82, 0xAC}));
    }

    @Test
    void customSpecialsAndRoles() {
        ByteTokenizer custom = new ByteTokenizer(List.of("<s>", "</s>", "<|tool|>"));
        assertEquals(259, custom.vocabSize());
        assertEquals(OptionalInt.of(256), custom.bosId());
        assertEquals(OptionalInt.of(257), custom.eosId());
        assertEquals(OptionalInt.empty(), custom.padId());
        assertArrayEquals(new int[] {258, 'x'}, custom.encode("<|tool|>x"));
    }

    @Test
    void misuseNamesTheProblem() {
        Moe4jException e = assertThrows(Moe4jException.class, () -> t.decode(new int[] {259}));
        assertTrue(e.getMessage().contains("259") && e.getMessage().contains("0..258"), e.getMessage());
        assertThrows(Moe4jException.class, () -> t.tokenString(-1));
        e = assertThrows(Moe4jException.class, () -> new ByteTokenizer(List.of("<x>", "<x>")));
        assertTrue(e.getMessage().contains("twice"), e.getMessage());
    }
}
