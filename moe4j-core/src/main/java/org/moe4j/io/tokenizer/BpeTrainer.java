package org.moe4j.io.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.DataFormatException;

/**
 * Trains a byte-level BPE tokenizer on a text: ids 0..255 are the bytes (id = byte value), the special tokens
 * follow from 256, and each merge after them joins the most frequent adjacent pair of tokens within the
 * pre-tokenized words, until the vocabulary has the size asked for (or no pair is left).
 *
 * <p>Ties in frequency go to the smallest (left id, right id), so the same text always gives the same tokenizer.
 * Pair counts are kept up to date incrementally: an index from each pair to the words it occurs in means a merge
 * only rewrites the words that hold the pair, and a max-heap with stale entries re-queued at their current count
 * finds the next pair without a recount.
 */
public final class BpeTrainer {
    private BpeTrainer() {}

    /** Trains on the UTF-8 file {@code file}. A file that is not UTF-8 is a {@link DataFormatException}. */
    public static BpeTokenizer train(Path file, int vocabSize, List<String> specials) {
        return train(readUtf8(file), vocabSize, specials);
    }

    /** Trains on {@code text}. Special tokens' text in {@code text} is cut out, never merged into. */
    public static BpeTokenizer train(String text, int vocabSize, List<String> specials) {
        return train(text, vocabSize, specials, PreTokenizer.gpt2());
    }

    /** Trains on {@code text} with the given pre-tokenizer (the GPT-2 regex unless there is a reason). */
    public static BpeTokenizer train(String text, int vocabSize, List<String> specials, PreTokenizer preTokenizer) {
        int first = 256 + specials.size();
        if (vocabSize < first) {
            throw new Moe4jException("BpeTrainer: vocabulary size " + vocabSize + " is below the 256 bytes plus "
                    + specials.size() + " special tokens; ask for at least " + first);
        }
        Map<String, Integer> specialIds = new LinkedHashMap<>();
        for (int i = 0; i < specials.size(); i++) {
            String s = specials.get(i);
            if (s == null || s.isEmpty()) throw new Moe4jException("BpeTrainer: special token " + i + " is empty");
            if (specialIds.putIfAbsent(s, 256 + i) != null) {
                throw new Moe4jException("BpeTrainer: special token " + s + " is listed twice");
            }
        }
        Map<String, Integer> wordCounts = countWords(text, specialIds, preTokenizer);
        Merger merger = new Merger(wordCounts, first);
        List<String[]> merges = merger.run(vocabSize, specialIds.keySet());

        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevel.charOf(b)), b);
        vocab.putAll(specialIds); // in the model's vocabulary too, as Hugging Face's trainer writes them
        for (int id = first; id < merger.tokens.size(); id++) vocab.put(merger.tokens.get(id), id);
        List<AddedToken> added = new ArrayList<>();
        specialIds.forEach((s, id) -> added.add(new AddedToken(id, s, true)));
        return new BpeTokenizer(vocab, merges, added, preTokenizer, null, false, null, BpeTokenizer.MISUSE);
    }

    /** How often each pre-tokenized piece occurs, special tokens cut out. */
    static Map<String, Integer> countWords(String text, Map<String, Integer> specials, PreTokenizer preTokenizer) {
        Map<String, Integer> counts = new HashMap<>();
        new AddedTokenSplitter(specials).split(text, (piece, id) -> {
            if (id < 0) preTokenizer.split(piece, w -> counts.merge(w, 1, Integer::sum));
        });
        return counts;
    }

    /** The merge loop over the distinct words. */
    private static final class Merger {
        final List<String> tokens = new ArrayList<>(); // [vocab] byte-level string of each id (specials: null)
        final Map<String, Integer> idOf = new HashMap<>(); // merged strings -> id, to reuse an id made twice
        final int[][] words; // [words][symbols] current token ids of each distinct word
        final long[] freq; // [words] occurrences of each word
        final int[] seen; // [words] the last merge step that visited the word, to visit it once per step
        final PairMap slotOf = new PairMap(1 << 16); // pair -> slot in the arrays below
        long[] pairOf = new long[1 << 16]; // [slots] the packed pair
        long[] pairCount = new long[1 << 16]; // [slots] occurrences of the pair, weighted by word frequency
        IntList[] pairWords = new IntList[1 << 16]; // [slots] words that held the pair at some point (may be stale)
        int slots;
        final Set<Integer> banned = new HashSet<>(); // slots never to merge
        final PriorityQueue<Candidate> heap = new PriorityQueue<>();

        /** A pair with its count when queued; the most frequent first, then the smallest (left, right). */
        record Candidate(long count, int left, int right) implements Comparable<Candidate> {
            @Override
            public int compareTo(Candidate o) {
                if (count != o.count) return Long.compare(o.count, count);
                if (left != o.left) return Integer.compare(left, o.left);
                return Integer.compare(right, o.right);
            }
        }

        Merger(Map<String, Integer> wordCounts, int firstMergeId) {
            for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevel.charOf(b)));
            while (tokens.size() < firstMergeId) tokens.add(null);
            // Sorted, so the visiting order does not depend on hashing (the result would not either).
            String[] distinct = wordCounts.keySet().toArray(String[]::new);
            Arrays.sort(distinct);
            words = new int[distinct.length][];
            freq = new long[distinct.length];
            seen = new int[distinct.length];
            Arrays.fill(seen, -1);
            for (int w = 0; w < distinct.length; w++) {
                byte[] b = distinct[w].getBytes(StandardCharsets.UTF_8);
                int[] sym = new int[b.length];
                for (int i = 0; i < b.length; i++) sym[i] = b[i] & 0xFF;
                words[w] = sym;
                freq[w] = wordCounts.get(distinct[w]);
                for (int i = 0; i + 1 < sym.length; i++) {
                    int slot = slot(sym[i], sym[i + 1]);
                    pairCount[slot] += freq[w];
                    IntList ws = pairWords[slot];
                    if (ws.size() == 0 || ws.get(ws.size() - 1) != w) ws.add(w);
                }
            }
            for (int s = 0; s < slots; s++) queue(s);
        }

        private int slot(int left, int right) {
            int s = slotOf.get(left, right);
            if (s >= 0) return s;
            s = slots++;
            slotOf.put(left, right, s);
            if (s == pairCount.length) {
                pairOf = Arrays.copyOf(pairOf, s * 2);
                pairCount = Arrays.copyOf(pairCount, s * 2);
                pairWords = Arrays.copyOf(pairWords, s * 2);
            }
            pairOf[s] = PairMap.pack(left, right);
            pairWords[s] = new IntList(4);
            return s;
        }

        private void queue(int s) {
            if (pairCount[s] > 0) heap.add(new Candidate(pairCount[s], PairMap.left(pairOf[s]), PairMap.right(pairOf[s])));
        }

        List<String[]> run(int vocabSize, Set<String> specials) {
            List<String[]> merges = new ArrayList<>();
            int distinctTokens = tokens.size();
            while (distinctTokens < vocabSize) {
                Candidate c = heap.poll();
                if (c == null) break; // no pair left: every word is a single token
                int s = slotOf.get(c.left, c.right);
                long current = pairCount[s];
                if (current != c.count) { // stale: re-queue at the current count if it fell (a rise queued itself)
                    if (current > 0 && current < c.count) heap.add(new Candidate(current, c.left, c.right));
                    continue;
                }
                if (banned.contains(s)) continue;
                String merged = tokens.get(c.left) + tokens.get(c.right);
                if (specials.contains(merged)) { // the token would shadow a special token: never make it
                    banned.add(s);
                    continue;
                }
                // Two different pairs can spell the same string ("ab"+"c", "a"+"bc"): both merges make one token.
                Integer existing = idOf.get(merged);
                int id = existing != null ? existing : tokens.size();
                if (existing == null) {
                    tokens.add(merged);
                    idOf.put(merged, id);
                    distinctTokens++;
                }
                merges.add(new String[] {tokens.get(c.left), tokens.get(c.right)});
                apply(c.left, c.right, id, merges.size() - 1);
            }
            return merges;
        }

        /** Replaces (left, right) by {@code id} in every word that holds it, updating counts, index and heap. */
        private void apply(int left, int right, int id, int step) {
            IntList holders = pairWords[slotOf.get(left, right)];
            IntList grown = new IntList(16); // slots of the new pairs, whose counts rose
            for (int k = 0; k < holders.size(); k++) {
                int w = holders.get(k);
                if (seen[w] == step) continue;
                seen[w] = step;
                int[] old = words[w];
                int[] out = new int[old.length];
                int n = 0;
                for (int i = 0; i < old.length; i++) {
                    if (i + 1 < old.length && old[i] == left && old[i + 1] == right) {
                        out[n++] = id;
                        i++;
                    } else {
                        out[n++] = old[i];
                    }
                }
                if (n == old.length) continue; // a stale index entry: the pair left this word earlier
                long f = freq[w];
                for (int i = 0; i + 1 < old.length; i++) pairCount[slotOf.get(old[i], old[i + 1])] -= f;
                for (int i = 0; i + 1 < n; i++) {
                    int slot = slot(out[i], out[i + 1]);
                    pairCount[slot] += f;
                    if (out[i] == id || out[i + 1] == id) {
                        IntList ws = pairWords[slot];
                        if (ws.size() == 0 || ws.get(ws.size() - 1) != w) ws.add(w);
                        grown.add(slot);
                    }
                }
                words[w] = Arrays.copyOf(out, n);
            }
            // Queued once per slot: duplicates would be harmless but waste heap space.
            int[] g = grown.toArray();
            Arrays.sort(g);
            for (int i = 0; i < g.length; i++) if (i == 0 || g[i] != g[i - 1]) queue(g[i]);
        }
    }

    /** The text of a UTF-8 file; invalid UTF-8 is an error naming the byte offset. */
    static String readUtf8(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new Moe4jException(file + ": no such file", e);
        } catch (IOException e) {
            throw new Moe4jException(file + ": cannot read: " + e, e);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (MalformedInputException e) {
            throw new DataFormatException(file.toString(), "encoding", "not valid UTF-8 at or after byte "
                    + firstBadByte(bytes), "save the text as UTF-8", e);
        } catch (CharacterCodingException e) {
            throw new DataFormatException(file.toString(), "encoding", "not valid UTF-8", "save the text as UTF-8", e);
        }
    }

    private static long firstBadByte(byte[] bytes) {
        var decoder = StandardCharsets.UTF_8.newDecoder();
        ByteBuffer in = ByteBuffer.wrap(bytes);
        var out = java.nio.CharBuffer.allocate(8192);
        while (true) {
            var result = decoder.decode(in, out, true);
            if (result.isError()) return in.position();
            if (result.isUnderflow()) return bytes.length;
            out.clear();
        }
    }
}
