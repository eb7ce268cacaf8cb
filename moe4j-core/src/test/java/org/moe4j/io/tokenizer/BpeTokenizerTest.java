package org.moe4j.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;

/** Encodings worked out by hand from the merge rules, then round trips and sharing. */
class BpeTokenizerTest {
    private static String[] strings(Tokenizer t, int[] ids) {
        return Arrays.stream(ids).mapToObj(t::tokenString).toArray(String[]::new);
    }

    @Test
    void mergesApplyByRankNotByPosition() {
        // "abc": (b,c) has rank 0, (a,b) rank 1. By rank, bc forms first and then nothing joins a to bc;
        // merging left to right would have given ab, c instead.
        BpeTokenizer t = Handmade.tokenizer("b c", "a b");
        assertArrayEquals(new String[] {"a", "bc"}, strings(t, t.encode("abc")));
        assertArrayEquals(new String[] {"ab"}, strings(t, t.encode("ab")));
    }

    @Test
    void chainedMergesBuildAWord() {
        // " the" is the bytes Ġ t h e. Ranks: (Ġ,t)=0, (h,e)=1, (Ġt,he)=2. Ġt first, then he, then Ġthe.
        BpeTokenizer t = Handmade.tokenizer("Ġ t", "h e", "Ġt he");
        // "the" (no space) has no (Ġ,t): he forms, t stays alone.
        assertArrayEquals(new String[] {"t", "he", "Ġthe"}, strings(t, t.encode("the the")));
        assertEquals(258, t.tokenId("Ġthe").getAsInt(), "ids follow the vocabulary: 256 Ġt, 257 he, 258 Ġthe");
    }

    @Test
    void equalRanksGoLeftmostFirstAndOverlapsResolveLeftToRight() {
        BpeTokenizer t = Handmade.tokenizer("a a", "aa aa");
        assertArrayEquals(new String[] {"aa", "a"}, strings(t, t.encode("aaa")));
        assertArrayEquals(new String[] {"aaaa"}, strings(t, t.encode("aaaa")));
        assertArrayEquals(new String[] {"aaaa", "a"}, strings(t, t.encode("aaaaa")));
        assertArrayEquals(new String[] {"aaaa", "aa"}, strings(t, t.encode("aaaaaa")));
    }

    @Test
    void mergesNeverCrossPieces() {
        // "a b": the pre-tokenizer gives "a" and " b"; a merge (a, Ġ) can never apply.
        BpeTokenizer t = Handmade.tokenizer("a Ġ", "Ġ b");
        assertArrayEquals(new String[] {"a", "Ġb"}, strings(t, t.encode("a b")));
    }

    @Test
    void addedTokensAreCutOutFirstAndDecodeToTheirText() {
        BpeTokenizer t = Handmade.tokenizer("a b");
        int eos = t.tokenId("<|eos|>").getAsInt();
        assertEquals(257, eos);
        assertArrayEquals(new int[] {256, eos, 256}, t.encode("ab<|eos|>ab"));
        assertArrayEquals(new int[] {'<', '|', 'e', 'o', 's', '|', '>'}, t.encodeOrdinary("<|eos|>"));
        assertEquals("ab<|eos|>", t.decode(new int[] {256, eos}));
        assertEquals("ab", t.decode(new int[] {256, eos}, true));
        assertEquals(OptionalInt.of(eos), t.eosId());
        assertEquals(OptionalInt.empty(), t.bosId());
        assertTrue(t.isSpecial(eos));
    }

    @Test
    void rolesCanBeSetFromAModelsConfig() {
        BpeTokenizer t = Handmade.tokenizer("a b").withRoles(new SpecialRoles(OptionalInt.of(257), OptionalInt.of(257),
                OptionalInt.empty()));
        assertEquals(OptionalInt.of(257), t.bosId());
        assertThrows(Moe4jException.class, () -> t.withRoles(new SpecialRoles(OptionalInt.of(999), OptionalInt.empty(),
                OptionalInt.empty())));
    }

    @Test
    void roundTripsOnATrainedTokenizer() {
        String corpus = String.join(" ", RoundTrips.TEXTS).repeat(5);
        BpeTokenizer t = BpeTrainer.train(corpus, 600, Tokenizer.DEFAULT_SPECIALS);
        RoundTrips.check(t);
        RoundTrips.check(Handmade.tokenizer());
        assertEquals(0, t.encode("").length);
    }

    @Test
    void aLongPieceMergesInReasonableTime() {
        BpeTokenizer t = Handmade.tokenizer("a a", "aa aa", "aaaa aaaa");
        String run = "a".repeat(200_000); // one piece: the heap keeps this O(n log n)
        long start = System.nanoTime();
        int[] ids = t.encode(run);
        assertEquals(25_000, ids.length);
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "200k-byte piece took over 5 s");
    }

    @Test
    void threadsShareOneTokenizer() {
        BpeTokenizer t = BpeTrainer.train(String.join(" ", RoundTrips.TEXTS).repeat(3), 500, List.of());
        List<String> texts = IntStream.range(0, 400).mapToObj(i -> RoundTrips.TEXTS.get(i % RoundTrips.TEXTS.size()) + i)
                .toList();
        List<int[]> serial = texts.stream().map(t::encode).toList();
        BpeTokenizer fresh = BpeTrainer.train(String.join(" ", RoundTrips.TEXTS).repeat(3), 500, List.of());
        List<int[]> parallel = texts.parallelStream().map(fresh::encode).toList();
        for (int i = 0; i < texts.size(); i++) assertArrayEquals(serial.get(i), parallel.get(i));
    }

    @Test
    void misuseNamesTheProblem() {
        BpeTokenizer t = Handmade.tokenizer("a b");
        Moe4jException e = assertThrows(Moe4jException.class, () -> t.decode(new int[] {258}));
        assertTrue(e.getMessage().contains("258") && e.getMessage().contains("0..257"), e.getMessage());
    }
}
