package org.moe4j.io.tokenizer;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import org.moe4j.common.Moe4jException;

/**
 * Byte-level BPE, as GPT-2, Qwen and OLMoE use it: the text (after cutting out added tokens and an optional Unicode
 * normalization) is split by the {@link PreTokenizer}; each piece becomes its UTF-8 bytes, one base token per byte,
 * and adjacent tokens are merged by rank, the lowest-ranked pair present first and the leftmost of equal ranks
 * first (Hugging Face's order), until no listed pair is left. Pieces seen before come from a bounded cache.
 *
 * <p>Made by {@link BpeTrainer} or read by {@link TokenizerJson}. Immutable and safe to share between threads.
 */
public final class BpeTokenizer implements Tokenizer {
    /** Pieces cached at most; past this, pieces are merged afresh (the cache holds the common words by then). */
    static final int CACHE_LIMIT = 100_000;

    /** How construction reports a bad vocabulary or merge list: the field (e.g. {@code model.merges[3]}) and what. */
    @FunctionalInterface
    interface Errors {
        RuntimeException at(String field, String problem);
    }

    static final Errors MISUSE = (field, problem) -> new Moe4jException("BpeTokenizer: " + field + ": " + problem);

    private final Map<String, Integer> modelVocab; // the model's tokens (byte-level strings) -> id
    private final MergeTable merges;
    private final List<AddedToken> addedTokens;
    private final PreTokenizer preTokenizer;
    private final Normalizer.Form normalizer; // null for none
    private final boolean ignoreMerges; // a piece that is a whole vocabulary token is taken as is (Llama 3)
    private final SpecialRoles roles;

    private final TokenTable tokens;
    private final byte[][] bytes; // [vocabSize] the bytes each token stands for; null for ids no token has
    private final int[] byteIds; // [256] the base token of each byte
    private final AddedTokenSplitter splitter;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    BpeTokenizer(Map<String, Integer> modelVocab, List<String[]> merges, List<AddedToken> addedTokens,
            PreTokenizer preTokenizer, Normalizer.Form normalizer, boolean ignoreMerges, SpecialRoles roles,
            Errors errors) {
        this.modelVocab = Collections.unmodifiableMap(new LinkedHashMap<>(modelVocab));
        this.addedTokens = List.copyOf(addedTokens);
        this.preTokenizer = Objects.requireNonNull(preTokenizer);
        this.normalizer = normalizer;
        this.ignoreMerges = ignoreMerges;
        this.tokens = new TokenTable(modelVocab, addedTokens, errors);
        Map<String, Integer> added = new LinkedHashMap<>();
        for (int i = 0; i < addedTokens.size(); i++) {
            AddedToken t = addedTokens.get(i);
            if (added.putIfAbsent(t.content(), t.id()) != null) {
                throw errors.at("added_tokens[" + i + "]", "the token " + t.content() + " is added twice");
            }
        }
        bytes = new byte[tokens.size()][];
        for (int id = 0; id < bytes.length; id++) {
            if (tokens.at(id) != null) bytes[id] = ByteLevel.decode(tokens.at(id));
        }

        byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            String s = String.valueOf(ByteLevel.charOf(b));
            Integer id = modelVocab.get(s);
            if (id == null) {
                throw errors.at("model.vocab", String.format("has no token for byte 0x%02X (%s): a byte-level BPE"
                        + " vocabulary needs all 256 bytes", b, s));
            }
            byteIds[b] = id;
        }

        this.merges = new MergeTable(modelVocab, merges, errors);
        this.roles = roles != null ? roles : tokens.guessRoles();
        this.splitter = new AddedTokenSplitter(added);
    }

    /**
     * A tokenizer from its parts (as a file format other than tokenizer.json stores them, e.g. GGUF metadata): the
     * model vocabulary (byte-level token strings to ids, all 256 bytes among them), merges by rank, added tokens,
     * the pre-tokenizer, whether whole-vocabulary pieces skip merging, and the special roles (null: guessed from
     * names). An inconsistent vocabulary or merge list is a Moe4jException naming the entry.
     */
    public static BpeTokenizer of(Map<String, Integer> modelVocab, List<String[]> merges, List<AddedToken> addedTokens,
            PreTokenizer preTokenizer, boolean ignoreMerges, SpecialRoles roles) {
        return new BpeTokenizer(modelVocab, merges, addedTokens, preTokenizer, null, ignoreMerges, roles, MISUSE);
    }

    /** A copy with the given bos/eos/pad roles (from a model's config), instead of those guessed from names. */
    public BpeTokenizer withRoles(SpecialRoles roles) {
        roles.checkIds("BpeTokenizer.withRoles", vocabSize());
        return new BpeTokenizer(modelVocab, merges.list(), addedTokens, preTokenizer, normalizer, ignoreMerges, roles,
                MISUSE);
    }

    // ---- encoding ----------------------------------------------------------------------------------------------

    @Override
    public int[] encode(String text) {
        IntList out = new IntList(text.length() / 3 + 4);
        splitter.split(text, (piece, id) -> {
            if (id >= 0) out.add(id);
            else encodeText(piece, out);
        });
        return out.toArray();
    }

    @Override
    public int[] encodeOrdinary(String text) {
        IntList out = new IntList(text.length() / 3 + 4);
        encodeText(text, out);
        return out.toArray();
    }

    private void encodeText(String text, IntList out) {
        if (text.isEmpty()) return;
        if (normalizer != null) text = Normalizer.normalize(text, normalizer);
        preTokenizer.split(text, piece -> out.addAll(encodePiece(piece)));
    }

    /** The ids of one pre-tokenized piece (shared with the cache: never modified). */
    int[] encodePiece(String piece) {
        int[] cached = cache.get(piece);
        if (cached != null) return cached;
        byte[] b = piece.getBytes(StandardCharsets.UTF_8);
        int[] result = null;
        if (ignoreMerges) {
            Integer whole = modelVocab.get(ByteLevel.encode(b));
            if (whole != null) result = new int[] {whole};
        }
        if (result == null) result = merge(b);
        if (cache.size() < CACHE_LIMIT) cache.put(piece, result);
        return result;
    }

    /** Merges the byte tokens of one piece. */
    private int[] merge(byte[] b) {
        int[] sym = new int[b.length];
        for (int i = 0; i < b.length; i++) sym[i] = byteIds[b[i] & 0xFF];
        return merges.mergeAll(sym);
    }

    /**
     * Merges adjacent symbols by rank, as Hugging Face's {@code Word::merge_all} does: a heap of (rank, position)
     * over the adjacent pairs, popping the lowest rank (leftmost on ties), skipping entries whose pair no longer
     * makes the same token; O(n log n) in the number of symbols. {@code sym} is overwritten.
     */
    static int[] mergeAll(int[] sym, PairMap ranks, int[] mergedIds) {
        int n = sym.length;
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        boolean[] gone = new boolean[n];
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) push(heap, ranks, sym[i], sym[i + 1], i);
        int count = n;
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int rank = (int) (top >>> 32), i = (int) top;
            int j = next[i];
            if (gone[i] || j < 0) continue;
            int now = ranks.get(sym[i], sym[j]);
            if (now < 0 || mergedIds[now] != mergedIds[rank]) continue; // the pair changed since
            sym[i] = mergedIds[rank];
            gone[j] = true;
            count--;
            next[i] = next[j];
            if (next[j] >= 0) prev[next[j]] = i;
            if (prev[i] >= 0) push(heap, ranks, sym[prev[i]], sym[i], prev[i]);
            if (next[i] >= 0) push(heap, ranks, sym[i], sym[next[i]], i);
        }
        int[] out = new int[count];
        for (int i = 0, k = 0; i >= 0 && k < count; i = next[i]) out[k++] = sym[i];
        return out;
    }

    private static void push(LongHeap heap, PairMap ranks, int left, int right, int position) {
        int rank = ranks.get(left, right);
        if (rank >= 0) heap.push(((long) rank << 32) | position);
    }

    // ---- the vocabulary ----------------------------------------------------------------------------------------

    @Override
    public int vocabSize() {
        return tokens.size();
    }

    @Override
    public byte[] tokenBytes(int id) {
        return known("BpeTokenizer.tokenBytes", id).clone();
    }

    @Override
    public void appendBytes(int id, java.io.ByteArrayOutputStream out) {
        out.writeBytes(known("BpeTokenizer.decode", id));
    }

    private byte[] known(String op, int id) {
        tokens.known(op, id);
        return bytes[id];
    }

    @Override
    public String tokenString(int id) {
        return tokens.known("BpeTokenizer.tokenString", id);
    }

    @Override
    public OptionalInt tokenId(String token) {
        return tokens.id(token);
    }

    @Override
    public boolean isSpecial(int id) {
        return tokens.isSpecial("BpeTokenizer.isSpecial", id);
    }

    // ---- what a writer needs -----------------------------------------------------------------------------------

    /** The model's vocabulary (byte-level token strings to ids), as {@code tokenizer.json} lists it. */
    public Map<String, Integer> modelVocab() {
        return modelVocab;
    }

    /** The merges by rank: each a pair of token strings. */
    public List<String[]> merges() {
        return merges.copy();
    }

    /** The number of merges. */
    public int mergeCount() {
        return merges.size();
    }

    /** The tokens matched before pre-tokenization, in the order they were given. */
    public List<AddedToken> addedTokens() {
        return addedTokens;
    }

    /** The pre-tokenizer. */
    public PreTokenizer preTokenizer() {
        return preTokenizer;
    }

    /** The Unicode normalization applied before pre-tokenizing, or null for none. */
    public Normalizer.Form normalizer() {
        return normalizer;
    }

    /** Whether a piece that is itself a vocabulary token skips the merges. */
    public boolean ignoreMerges() {
        return ignoreMerges;
    }

    /** The bos/eos/pad roles. */
    @Override
    public SpecialRoles roles() {
        return roles;
    }

    @Override
    public String toString() {
        return "BpeTokenizer[vocab=" + vocabSize() + ", merges=" + merges.size() + ", added=" + addedTokens.size()
                + ", " + preTokenizer + (normalizer == null ? "" : ", normalizer=" + normalizer)
                + (ignoreMerges ? ", ignoreMerges" : "") + "]";
    }
}
