package org.moe4j.io.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;

/**
 * SentencePiece-style BPE as Llama, Mistral and Mixtral ship it in {@code tokenizer.json}, run as Hugging Face's
 * tokenizers run it: added tokens are cut out of the text (their flags honoured), the rest is normalized (Llama:
 * "▁" put before each stretch, spaces made "▁") and optionally cut by {@link Metaspace}; each piece starts as its
 * characters, a character missing from the vocabulary becomes its UTF-8 bytes as {@code <0xNN>} tokens (byte
 * fallback) or the unknown token (fused with its unknown neighbours when {@code fuseUnk}), and adjacent symbols are
 * merged by rank. Decoding runs the file's decoder chain ({@link PieceDecoder}); encoding with special tokens adds
 * what the {@code TemplateProcessing} post-processor adds (Llama: {@code <s>} in front).
 *
 * <p>Read and written by {@link TokenizerJson}. Immutable and safe to share between threads.
 */
public final class SentencePieceBpe implements Tokenizer {
    /** Pieces up to this many characters are cached (Hugging Face's limit too: whole texts are not words). */
    static final int CACHE_PIECE_LIMIT = 256;

    /**
     * The post-processor's template for one sequence: ids before and after it, and its JSON as read, written back
     * unchanged.
     */
    public record Template(int[] prefix, int[] suffix, String json) {
        public Template {
            prefix = prefix.clone();
            suffix = suffix.clone();
            Objects.requireNonNull(json);
        }

        @Override
        public int[] prefix() {
            return prefix.clone();
        }

        @Override
        public int[] suffix() {
            return suffix.clone();
        }
    }

    /** The model's settings beside its vocabulary and merges, as {@code tokenizer.json} names them. */
    public record ModelFlags(String unkToken, boolean fuseUnk, boolean byteFallback, boolean ignoreMerges) {}

    private final Map<String, Integer> modelVocab; // token -> id, as the model lists it
    private final MergeTable merges;
    private final ModelFlags flags;
    private final List<AddedToken> addedTokens;
    private final List<TextNormalizer> normalizers;
    private final Metaspace metaspace; // null for no pre-tokenizer
    private final PieceDecoder decoder;
    private final Template template; // null for no post-processor
    private final SpecialRoles roles;

    private final TokenTable tokens;
    private final int[] byteIds; // [256] the id of <0xNN>, or -1
    private final int unkId; // -1 for none
    private final AddedTokenMatcher rawMatcher; // tokens matched in the original text
    private final AddedTokenMatcher normalizedMatcher; // tokens matched, normalized, in the normalized text
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    SentencePieceBpe(Map<String, Integer> modelVocab, List<String[]> merges, ModelFlags flags,
            List<AddedToken> addedTokens, List<TextNormalizer> normalizers, Metaspace metaspace, PieceDecoder decoder,
            Template template, SpecialRoles roles, BpeTokenizer.Errors errors) {
        this.modelVocab = Collections.unmodifiableMap(new LinkedHashMap<>(modelVocab));
        this.flags = Objects.requireNonNull(flags);
        this.addedTokens = List.copyOf(addedTokens);
        this.normalizers = List.copyOf(normalizers);
        this.metaspace = metaspace;
        this.decoder = Objects.requireNonNull(decoder);
        this.template = template;

        this.tokens = new TokenTable(modelVocab, addedTokens, errors);
        Map<AddedToken, String> raw = new LinkedHashMap<>(), normalized = new LinkedHashMap<>();
        for (AddedToken t : addedTokens) {
            if (t.normalized()) normalized.put(t, TextNormalizer.applyAll(normalizers, t.content()));
            else raw.put(t, t.content());
        }
        byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = modelVocab.get(byteToken(b));
            byteIds[b] = id == null ? -1 : id;
        }
        if (flags.unkToken() != null) {
            Integer id = modelVocab.get(flags.unkToken());
            if (id == null) throw errors.at("model.unk_token", flags.unkToken() + " is not in model.vocab");
            unkId = id;
        } else {
            unkId = -1;
        }
        this.merges = new MergeTable(modelVocab, merges, errors);
        rawMatcher = new AddedTokenMatcher(raw);
        normalizedMatcher = new AddedTokenMatcher(normalized);
        this.roles = roles != null ? roles : tokens.guessRoles();
    }

    /** The byte token of {@code b}: {@code <0x41>} for 'A', as Hugging Face spells it. */
    public static String byteToken(int b) {
        return String.format("<0x%02X>", b & 0xFF);
    }

    /** A copy with the given bos/eos/pad roles (from a model's config), instead of those guessed from names. */
    public SentencePieceBpe withRoles(SpecialRoles roles) {
        roles.checkIds("SentencePieceBpe.withRoles", vocabSize());
        return new SentencePieceBpe(modelVocab, merges.list(), flags, addedTokens, normalizers, metaspace, decoder,
                template, roles, BpeTokenizer.MISUSE);
    }

    // ---- encoding ----------------------------------------------------------------------------------------------

    @Override
    public int[] encode(String text) {
        return encode(text, false);
    }

    /** The ids of {@code text}; with {@code addSpecialTokens}, what the post-processor adds (Llama: bos) too. */
    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        IntList out = new IntList(text.length() / 3 + 4);
        if (addSpecialTokens && template != null) out.addAll(template.prefix);
        encodeInto(text, false, out);
        if (addSpecialTokens && template != null) out.addAll(template.suffix);
        return out.toArray();
    }

    /** The ids of {@code text}, reading the text of special tokens as ordinary text (non-special added tokens still match). */
    @Override
    public int[] encodeOrdinary(String text) {
        IntList out = new IntList(text.length() / 3 + 4);
        encodeInto(text, true, out);
        return out.toArray();
    }

    private void encodeInto(String text, boolean skipSpecial, IntList out) {
        rawMatcher.split(text, skipSpecial, (start, end, token) -> {
            if (token != null) {
                out.add(token.id());
                return;
            }
            String normalized = TextNormalizer.applyAll(normalizers, text.substring(start, end));
            boolean atInputStart = start == 0;
            normalizedMatcher.split(normalized, skipSpecial, (s, e, t) -> {
                if (t != null) {
                    out.add(t.id());
                } else if (metaspace == null) {
                    out.addAll(encodePiece(normalized.substring(s, e)));
                } else {
                    for (String piece : metaspace.split(normalized.substring(s, e), atInputStart && s == 0)) {
                        out.addAll(encodePiece(piece));
                    }
                }
            });
        });
    }

    /** The ids of one piece (shared with the cache: never modified). */
    int[] encodePiece(String piece) {
        if (piece.isEmpty()) return new int[0];
        if (flags.ignoreMerges()) {
            Integer whole = modelVocab.get(piece);
            if (whole != null) return new int[] {whole};
        }
        int[] cached = cache.get(piece);
        if (cached != null) return cached;
        int[] result = merges.mergeAll(symbols(piece));
        if (piece.length() < CACHE_PIECE_LIMIT && cache.size() < BpeTokenizer.CACHE_LIMIT) cache.put(piece, result);
        return result;
    }

    /**
     * The symbols a piece starts as, as Hugging Face's {@code merge_word} makes them: each character's token; else
     * its bytes' {@code <0xNN>} tokens (when all exist); else the unknown token, fused with the one before when
     * {@code fuseUnk}; else nothing (Hugging Face drops it too).
     */
    private int[] symbols(String piece) {
        IntList syms = new IntList(piece.length());
        boolean unkPending = false;
        for (int i = 0; i < piece.length(); ) {
            int cp = piece.codePointAt(i);
            String c = piece.substring(i, i + Character.charCount(cp));
            i += c.length();
            Integer id = modelVocab.get(c);
            if (id != null) {
                if (unkPending) syms.add(unkId);
                unkPending = false;
                syms.add(id);
                continue;
            }
            if (flags.byteFallback()) {
                byte[] b = c.getBytes(StandardCharsets.UTF_8);
                boolean all = true;
                for (byte x : b) all &= byteIds[x & 0xFF] >= 0;
                if (all) { // a pending unknown token stays pending, as in Hugging Face
                    for (byte x : b) syms.add(byteIds[x & 0xFF]);
                    continue;
                }
            }
            if (unkId >= 0) {
                if (unkPending && !flags.fuseUnk()) syms.add(unkId);
                unkPending = true;
            }
        }
        if (unkPending) syms.add(unkId);
        return syms.toArray();
    }

    // ---- decoding ----------------------------------------------------------------------------------------------

    @Override
    public String decode(int[] ids, boolean skipSpecial) {
        PieceDecoder.State s = decoder.state();
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            String t = tokens.known("SentencePieceBpe.decode", id);
            if (!(skipSpecial && tokens.isSpecial("SentencePieceBpe.decode", id))) out.append(s.push(t));
        }
        return out.append(s.finish()).toString();
    }

    /** A streaming state of the decoder chain (see {@link StreamingDecoder}). */
    PieceDecoder.State decoderState() {
        return decoder.state();
    }

    // ---- the vocabulary ----------------------------------------------------------------------------------------

    @Override
    public int vocabSize() {
        return tokens.size();
    }

    /**
     * The bytes token {@code id} stands for inside a text: a byte token's byte, else the token's text after the
     * decoder's per-token replacements ("▁" as a space). Decoding also drops a leading space, which this does not.
     */
    @Override
    public byte[] tokenBytes(int id) {
        String t = tokens.known("SentencePieceBpe.tokenBytes", id);
        int b = decoder.hasByteFallback() ? PieceDecoder.byteOf(t) : -1;
        if (b >= 0) return new byte[] {(byte) b};
        return decoder.middleToken(t).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String tokenString(int id) {
        return tokens.known("SentencePieceBpe.tokenString", id);
    }

    @Override
    public OptionalInt tokenId(String token) {
        return tokens.id(token);
    }

    @Override
    public boolean isSpecial(int id) {
        return tokens.isSpecial("SentencePieceBpe.isSpecial", id);
    }

    // ---- what a writer needs -----------------------------------------------------------------------------------

    /** The model's vocabulary, as {@code tokenizer.json} lists it. */
    public Map<String, Integer> modelVocab() {
        return modelVocab;
    }

    /** The merges by rank: each a pair of token strings. */
    public List<String[]> merges() {
        return merges.copy();
    }

    /** unk_token, fuse_unk, byte_fallback, ignore_merges. */
    public ModelFlags flags() {
        return flags;
    }

    /** The added tokens with their flags, in the order they were given. */
    public List<AddedToken> addedTokens() {
        return addedTokens;
    }

    List<TextNormalizer> normalizers() {
        return normalizers;
    }

    /** The Metaspace pre-tokenizer, or null for none (the Llama layout, where the normalizer does its work). */
    public Metaspace metaspace() {
        return metaspace;
    }

    PieceDecoder decoder() {
        return decoder;
    }

    /** The post-processor's template, or null for none. */
    public Template template() {
        return template;
    }

    /** The bos/eos/pad roles. */
    @Override
    public SpecialRoles roles() {
        return roles;
    }

    @Override
    public String toString() {
        return "SentencePieceBpe[vocab=" + vocabSize() + ", merges=" + merges.size() + ", added=" + addedTokens.size()
                + ", " + flags + ", normalizers=" + normalizers + ", metaspace=" + metaspace + ", decoder="
                + decoder.steps() + (template == null ? "" : ", template") + "]";
    }
}
