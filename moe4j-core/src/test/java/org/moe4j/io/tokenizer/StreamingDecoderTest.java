package org.moe4j.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;

class StreamingDecoderTest {
    private final ByteTokenizer bytes = new ByteTokenizer();

    @Test
    void aCharacterSplitOverTokensComesOutWhenComplete() {
        StreamingDecoder d = new StreamingDecoder(bytes);
        assertEquals("a", d.push('a'));
        assertEquals("", d.push(0xF0)); // 😀 is F0 9F 98 80
        assertEquals("", d.push(0x9F));
        assertEquals("", d.push(0x98));
        assertEquals("😀", d.push(0x80));
        assertEquals("<|eos|>", d.push(257));
        assertEquals("", d.finish());
    }

    @Test
    void anUnfinishedCharacterBecomesAReplacementAtTheEndOrWhenInterrupted() {
        StreamingDecoder d = new StreamingDecoder(bytes);
        assertEquals("", d.push(0xE2));
        assertEquals("\uFFFDb", d.push('b'));
        assertEquals("", d.push(0xE2));
        assertEquals("\uFFFD", d.finish());
    }

    /** On any byte sequence, valid or not, the pieces join to what decoding everything at once gives. */
    @Test
    void piecesJoinToTheWholeDecode() {
        Rng rng = new Rng(3);
        int[] interesting = {'a', ' ', 0x80, 0xBF, 0xC0, 0xC2, 0xC3, 0xDF, 0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5,
                0xFF, 0x9F, 0xA0, 0x82, 256, 257};
        for (int trial = 0; trial < 2000; trial++) {
            int[] ids = new int[rng.nextInt(12)];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = rng.nextInt(4) == 0 ? rng.nextInt(258) : interesting[rng.nextInt(interesting.length)];
            }
            StreamingDecoder d = new StreamingDecoder(bytes);
            StringBuilder streamed = new StringBuilder();
            for (int id : ids) streamed.append(d.push(id));
            streamed.append(d.finish());
            assertEquals(bytes.decode(ids), streamed.toString(), () -> java.util.Arrays.toString(ids));
        }
    }

    @Test
    void worksOverBpeTokensToo() {
        BpeTokenizer bpe = BpeTrainer.train("héllo wörld 😀 héllo wörld 😀 ".repeat(20), 300, Tokenizer.DEFAULT_SPECIALS);
        String text = "wörld 😀 héllo ☃";
        StreamingDecoder d = new StreamingDecoder(bpe);
        StringBuilder streamed = new StringBuilder();
        for (int id : bpe.encode(text)) streamed.append(d.push(id));
        assertEquals(text, streamed.append(d.finish()).toString());
    }
}
