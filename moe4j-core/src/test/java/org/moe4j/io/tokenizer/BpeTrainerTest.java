package org.moe4j.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.DataFormatException;

class BpeTrainerTest {
    private static List<String> merges(BpeTokenizer t) {
        return t.merges().stream().map(m -> m[0] + " " + m[1]).toList();
    }

    @Test
    void mergesTheMostFrequentPairWorkedOutByHand() {
        // "aaabdaaabac" is one piece. Pairs: aa 4, ab 2, bd da ba ac 1. Merge aa (left to right: aa a b d aa a b a c).
        // Now aa·a 2 and a·b 2 tie: the smaller ids win, (97, 98) before (256, 97). Then aa·ab 2 is the most frequent.
        BpeTokenizer t = BpeTrainer.train("aaabdaaabac", 259, List.of());
        assertEquals(List.of("a a", "a b", "aa ab"), merges(t));
        assertEquals(259, t.vocabSize());
        assertEquals("aaab", t.tokenString(258));
        assertArrayEquals(new int[] {258, 'd', 258, 'a', 'c'}, t.encode("aaabdaaabac"));
    }

    @Test
    void tiesGoToTheSmallestIds() {
        // Pieces "ab" and " cd": (a,b), (Ġ,c), (c,d) all once. Ġ is byte 32, the smallest left id.
        BpeTokenizer t = BpeTrainer.train("ab cd", 300, List.of());
        assertEquals(List.of("Ġ c", "a b", "Ġc d"), merges(t), "and it stops when no pair is left");
        assertEquals(259, t.vocabSize());
    }

    @Test
    void specialsTakeTheIdsAfterTheBytesAndAreNeverMergedInto() {
        BpeTokenizer t = BpeTrainer.train("<|eos|><|eos|>x<|eos|><|bos|>", 400, Tokenizer.DEFAULT_SPECIALS);
        assertEquals(0, t.mergeCount(), "the text between specials is single bytes: no pair to merge");
        assertEquals("<|bos|>", t.tokenString(256));
        assertEquals("<|pad|>", t.tokenString(258));
        BpeTokenizer u = BpeTrainer.train("aaabdaaabac", 262, Tokenizer.DEFAULT_SPECIALS);
        assertEquals("aaab", u.tokenString(261));
    }

    @Test
    void theSameTextGivesTheSameTokenizer() {
        String text = String.join("\n", RoundTrips.TEXTS).repeat(4);
        String a = TokenizerJson.toJson(BpeTrainer.train(text, 700, Tokenizer.DEFAULT_SPECIALS));
        String b = TokenizerJson.toJson(BpeTrainer.train(text, 700, Tokenizer.DEFAULT_SPECIALS));
        assertEquals(a, b);
    }

    @Test
    void trainsFromAFileAndRefusesOneThatIsNotUtf8(@TempDir Path dir) throws IOException {
        Path good = dir.resolve("corpus.txt");
        Files.writeString(good, "héllo wörld, héllo again", StandardCharsets.UTF_8);
        assertEquals(TokenizerJson.toJson(BpeTrainer.train("héllo wörld, héllo again", 280, List.of())),
                TokenizerJson.toJson(BpeTrainer.train(good, 280, List.of())));
        Path bad = dir.resolve("latin1.txt");
        Files.write(bad, new byte[] {'o', 'k', ' ', (byte) 0xE9, 't', 'e'});
        DataFormatException e = assertThrows(DataFormatException.class, () -> BpeTrainer.train(bad, 280, List.of()));
        assertTrue(e.getMessage().contains("latin1.txt") && e.getMessage().contains("byte 3"), e.getMessage());
        assertThrows(Moe4jException.class, () -> BpeTrainer.train(dir.resolve("missing.txt"), 280, List.of()));
    }

    @Test
    void aVocabularyBelowBytesPlusSpecialsIsRefused() {
        Moe4jException e = assertThrows(Moe4jException.class,
                () -> BpeTrainer.train("abc", 258, Tokenizer.DEFAULT_SPECIALS));
        assertTrue(e.getMessage().contains("at least 259"), e.getMessage());
    }

    /** The real corpus: 4,096 ids trained on the first 1 MB of the King James Bible, measured on its last 400 KB. */
    @Test
    void compressesHeldOutKjvTextAboveThreeBytesPerToken() {
        Path kjv = kjv();
        Assumptions.assumeTrue(kjv != null,
                "skipped: no shared/data/kjv.txt in the working directory or a folder above it");
        String text = BpeTrainer.readUtf8(kjv);
        String train = text.substring(0, 1_000_000), heldOut = text.substring(text.length() - 400_000);
        long start = System.nanoTime();
        BpeTokenizer t = BpeTrainer.train(train, 4096, Tokenizer.DEFAULT_SPECIALS);
        double seconds = (System.nanoTime() - start) / 1e9;
        int[] ids = t.encode(heldOut);
        double bytesPerToken = heldOut.getBytes(StandardCharsets.UTF_8).length / (double) ids.length;
        System.out.printf("kjv: trained 4096 ids on 1 MB in %.2f s; held-out bytes/token %.3f%n", seconds, bytesPerToken);
        assertEquals(4096, t.vocabSize());
        assertTrue(bytesPerToken > 3, "bytes/token " + bytesPerToken);
        assertEquals(heldOut, t.decode(ids));
    }

    /** shared/data/kjv.txt in the working directory or a folder above it, or null. */
    static Path kjv() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path c = d.resolve("shared/data/kjv.txt");
            if (Files.isRegularFile(c)) return c;
        }
        return null;
    }
}
