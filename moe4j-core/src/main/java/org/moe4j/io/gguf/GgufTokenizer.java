package org.moe4j.io.gguf;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.tokenizer.AddedToken;
import org.moe4j.io.tokenizer.BpeTokenizer;
import org.moe4j.io.tokenizer.ByteLevel;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.io.tokenizer.PreTokenizer;
import org.moe4j.io.tokenizer.SpecialRoles;
import org.moe4j.io.tokenizer.SpmTokenizer;
import org.moe4j.io.tokenizer.Tokenizer;

/**
 * The tokenizer in GGUF metadata ({@code tokenizer.ggml.*}), as llama.cpp stores it: byte-level BPE
 * ({@code model = "gpt2"}) with its token strings, token types, merges, special ids and the name of its
 * pre-tokenizer regex, read into a {@link BpeTokenizer}; or a SentencePiece vocabulary ({@code "llama"}) with token
 * strings, scores and types and no merges, read into an {@link SpmTokenizer} that merges by score as llama.cpp does.
 * Other vocabularies, and pre-tokenizers moe4j does not know, are reported, not guessed: the model then loads
 * without a tokenizer. Malformed tokenizer metadata (an array of the wrong type or length) is a
 * {@link GgufFormatException} naming the key.
 */
public final class GgufTokenizer {
    static final String MODEL = "tokenizer.ggml.model";
    static final String PRE = "tokenizer.ggml.pre";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String TYPES = "tokenizer.ggml.token_type";
    static final String MERGES = "tokenizer.ggml.merges";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String BOS = "tokenizer.ggml.bos_token_id";
    static final String EOS = "tokenizer.ggml.eos_token_id";
    static final String UNK = "tokenizer.ggml.unknown_token_id";
    static final String PAD = "tokenizer.ggml.padding_token_id";
    static final String ADD_BOS = "tokenizer.ggml.add_bos_token";
    static final String ADD_EOS = "tokenizer.ggml.add_eos_token";
    static final String ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";

    // llama.cpp's token types
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    /** Qwen2's pre-tokenizer regex as its tokenizer.json has it (llama.cpp's "qwen2"). */
    static final String QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Llama 3's (llama.cpp's "llama-bpe"). */
    static final String LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** What was read: the tokenizer ({@link BpeTokenizer} or {@link SpmTokenizer}), or why there is none. */
    public record Result(Optional<Tokenizer> tokenizer, String note) {}

    private GgufTokenizer() {}

    /** The tokenizer in {@code f}'s metadata; a vocabulary moe4j cannot read gives an empty result and the reason. */
    public static Result read(GgufFile f) {
        GgufValue model = f.value(MODEL);
        if (model == null) return none("no " + MODEL + " in the file");
        if (model.type() != GgufValueType.STRING) throw bad(f, MODEL, "is a " + model.type() + ", not a string");
        String kind = model.asString();
        if (kind.equals("none") || kind.equals("no_vocab")) return none("the file has no vocabulary (" + MODEL + " = " + kind + ")");
        if (kind.equals("llama")) return readSentencePiece(f);
        if (!kind.equals("gpt2")) {
            return none(MODEL + " '" + kind + "' is not read by moe4j (it reads byte-level BPE, 'gpt2', and"
                    + " SentencePiece, 'llama'); the model runs from token ids");
        }
        String pre = f.value(PRE) == null ? "default" : f.string(PRE);
        PreTokenizer preTokenizer;
        boolean ignoreMerges = false;
        switch (pre) {
            case "gpt-2", "default", "olmo", "phi-2" -> preTokenizer = PreTokenizer.gpt2();
            case "qwen2" -> preTokenizer = PreTokenizer.of(QWEN2_PATTERN, false);
            case "llama-bpe", "llama3", "llama-v3" -> {
                preTokenizer = PreTokenizer.of(LLAMA3_PATTERN, false);
                ignoreMerges = true;
            }
            default -> {
                return none(PRE + " '" + pre + "' is a pre-tokenizer moe4j does not know (it knows gpt-2, olmo, qwen2,"
                        + " llama-bpe)");
            }
        }
        String[] tokens = strings(f, TOKENS);
        long[] types = f.value(TYPES) == null ? null : integers(f, TYPES);
        if (types != null && types.length != tokens.length) {
            throw bad(f, TYPES, "has " + types.length + " entries for " + tokens.length + " tokens");
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<AddedToken> added = new ArrayList<>();
        for (int id = 0; id < tokens.length; id++) {
            int type = types == null ? NORMAL : (int) types[id];
            switch (type) {
                case CONTROL, USER_DEFINED -> {
                    if (tokens[id].isEmpty()) throw bad(f, TOKENS, "token " + id + " is empty");
                    added.add(new AddedToken(id, tokens[id], type == CONTROL));
                }
                case UNUSED -> { /* a placeholder: no token has this id */ }
                default -> {
                    if (vocab.putIfAbsent(tokens[id], id) != null) {
                        throw bad(f, TOKENS, "token " + id + " '" + tokens[id] + "' is listed twice");
                    }
                }
            }
        }
        List<String[]> merges = new ArrayList<>();
        String[] lines = f.value(MERGES) == null ? new String[0] : strings(f, MERGES);
        for (int r = 0; r < lines.length; r++) {
            int space = lines[r].indexOf(' ', 1);
            if (space < 0) throw bad(f, MERGES, "entry " + r + " '" + lines[r] + "' is not two tokens separated by a space");
            merges.add(new String[] {lines[r].substring(0, space), lines[r].substring(space + 1)});
        }
        SpecialRoles roles = new SpecialRoles(id(f, BOS, tokens.length), id(f, EOS, tokens.length), id(f, PAD, tokens.length));
        try {
            return new Result(Optional.of(BpeTokenizer.of(vocab, merges, added, preTokenizer, ignoreMerges, roles)), "");
        } catch (Moe4jException e) {
            return none("the vocabulary is not a byte-level BPE moe4j reads: " + e.getMessage());
        }
    }

    /**
     * A "llama" vocabulary, read as llama.cpp reads it: scores (FLOAT32 or INT32; 0 when absent) and types (NORMAL
     * when absent) at least as long as the token list, an empty token renamed {@code [EMPTY_<id>]}, bos 1, eos 2 and
     * unknown 0 unless the file says otherwise, bos added and a space put before the text unless it says otherwise.
     */
    private static Result readSentencePiece(GgufFile f) {
        String[] tokens = strings(f, TOKENS);
        int n = tokens.length;
        float[] scores = new float[n];
        GgufValue sv = f.value(SCORES);
        if (sv != null) {
            GgufArray a = sv.type() == GgufValueType.ARRAY ? sv.asArray() : null;
            if (a == null || (a.elementType() != GgufValueType.FLOAT32 && a.elementType() != GgufValueType.INT32)) {
                throw bad(f, SCORES, "is not an array of FLOAT32 or INT32 (llama.cpp reads no other)");
            }
            if (a.length() < n) throw bad(f, SCORES, "has " + a.length() + " entries for " + n + " tokens");
            for (int i = 0; i < n; i++) scores[i] = a.elementType() == GgufValueType.FLOAT32 ? a.floats()[i] : a.longs()[i];
        }
        SpmTokenizer.Type[] types = new SpmTokenizer.Type[n];
        long[] typeIds = f.value(TYPES) == null ? null : integers(f, TYPES);
        if (typeIds != null && typeIds.length < n) throw bad(f, TYPES, "has " + typeIds.length + " entries for " + n + " tokens");
        List<String> texts = new ArrayList<>(n);
        for (int id = 0; id < n; id++) {
            types[id] = typeIds == null ? SpmTokenizer.Type.NORMAL : SpmTokenizer.Type.of(typeIds[id]);
            texts.add(tokens[id].isEmpty() ? "[EMPTY_" + id + "]" : tokens[id]);
        }
        SpmTokenizer.Settings d = SpmTokenizer.Settings.defaults(n);
        SpmTokenizer.Settings settings = new SpmTokenizer.Settings(idOr(f, BOS, n, d.bos()), idOr(f, EOS, n, d.eos()),
                idOr(f, UNK, n, d.unk()), idOr(f, PAD, n, d.pad()), bool(f, ADD_BOS, d.addBos()),
                bool(f, ADD_EOS, d.addEos()), bool(f, ADD_SPACE_PREFIX, d.addSpacePrefix()));
        try {
            return new Result(Optional.of(SpmTokenizer.of(texts, scores, types, settings)), "");
        } catch (Moe4jException e) {
            return none("the SentencePiece vocabulary cannot be used: " + e.getMessage());
        }
    }

    /**
     * Puts {@code tokenizer} into {@code w}'s metadata, its token list padded with unused placeholders up to the
     * model's {@code vocab} (llama.cpp takes the vocabulary size from it). A tokenizer whose pre-tokenizer has no
     * llama.cpp name is left out: the file then says {@code model = "none"} and the returned note says why.
     */
    public static String write(GgufWriter w, Tokenizer tokenizer, int vocab) {
        if (tokenizer == null) {
            w.put(MODEL, GgufValue.ofString("none"));
            return "no tokenizer";
        }
        if (tokenizer.vocabSize() > vocab) {
            throw new Moe4jException("gguf: the tokenizer has " + tokenizer.vocabSize() + " ids, more than the model's"
                    + " vocabulary of " + vocab);
        }
        if (tokenizer instanceof SpmTokenizer spm) return writeSentencePiece(w, spm, vocab);
        String[] tokens = new String[vocab];
        long[] types = new long[vocab];
        List<String> merges = new ArrayList<>();
        String pre;
        switch (tokenizer) {
            case ByteTokenizer b -> {
                // ids 0-255 are the bytes, then the specials: a byte-level BPE without merges
                for (int id = 0; id < b.vocabSize(); id++) {
                    boolean isByte = id < 256;
                    tokens[id] = isByte ? String.valueOf(ByteLevel.charOf(id)) : b.tokenString(id);
                    types[id] = isByte ? NORMAL : CONTROL;
                }
                pre = "gpt-2";
            }
            case BpeTokenizer b -> {
                pre = preName(b);
                if (pre == null) {
                    w.put(MODEL, GgufValue.ofString("none"));
                    return "the tokenizer was not written: its pre-tokenizer (" + b.preTokenizer() + ") has no llama.cpp name";
                }
                for (Map.Entry<String, Integer> e : b.modelVocab().entrySet()) {
                    tokens[e.getValue()] = e.getKey();
                    types[e.getValue()] = NORMAL;
                }
                for (AddedToken t : b.addedTokens()) {
                    tokens[t.id()] = t.content();
                    types[t.id()] = t.special() ? CONTROL : USER_DEFINED;
                }
                for (String[] m : b.merges()) merges.add(m[0] + " " + m[1]);
            }
            default -> {
                w.put(MODEL, GgufValue.ofString("none"));
                return "the tokenizer was not written: moe4j writes byte-level BPE and GGUF's own SentencePiece"
                        + " vocabularies, not " + tokenizer.getClass().getSimpleName();
            }
        }
        for (int id = 0; id < vocab; id++) {
            if (tokens[id] == null) {
                tokens[id] = "[PAD" + id + "]";
                types[id] = UNUSED;
            }
        }
        w.put(MODEL, GgufValue.ofString("gpt2"));
        w.put(PRE, GgufValue.ofString(pre));
        w.put(TOKENS, GgufValue.ofArray(GgufArray.ofStrings(tokens)));
        w.put(TYPES, GgufValue.ofArray(new GgufArray(GgufValueType.INT32, types)));
        w.put(MERGES, GgufValue.ofArray(GgufArray.ofStrings(merges.toArray(String[]::new))));
        putId(w, BOS, tokenizer.bosId());
        putId(w, EOS, tokenizer.eosId());
        putId(w, PAD, tokenizer.padId());
        w.put(ADD_BOS, GgufValue.ofBool(false));
        return "";
    }

    /**
     * A SentencePiece vocabulary as the converter writes one: model "llama", pre "default", tokens, scores and types,
     * ids past the tokenizer's padded with unused {@code [PAD<id>]} tokens of score -1000, the special ids and the
     * add-bos, add-eos and space-prefix flags, so that reading it back gives the same tokenizer.
     */
    private static String writeSentencePiece(GgufWriter w, SpmTokenizer t, int vocab) {
        List<String> tokens = new ArrayList<>(t.tokens());
        float[] scores = java.util.Arrays.copyOf(t.scores(), vocab);
        long[] types = new long[vocab];
        SpmTokenizer.Type[] given = t.types();
        for (int id = 0; id < given.length; id++) types[id] = given[id].id();
        Set<String> taken = new HashSet<>(tokens);
        for (int id = tokens.size(); id < vocab; id++) {
            String pad = "[PAD" + id + "]";
            if (!taken.add(pad)) throw new Moe4jException("gguf: cannot pad the vocabulary: '" + pad + "' is already a token");
            tokens.add(pad);
            scores[id] = -1000f;
            types[id] = SpmTokenizer.Type.UNUSED.id();
        }
        w.put(MODEL, GgufValue.ofString("llama"));
        w.put(PRE, GgufValue.ofString("default"));
        w.put(TOKENS, GgufValue.ofArray(GgufArray.ofStrings(tokens.toArray(String[]::new))));
        w.put(SCORES, GgufValue.ofArray(GgufArray.ofFloats(scores)));
        w.put(TYPES, GgufValue.ofArray(new GgufArray(GgufValueType.INT32, types)));
        SpmTokenizer.Settings s = t.settings();
        putId(w, BOS, s.bos());
        putId(w, EOS, s.eos());
        putId(w, UNK, s.unk());
        putId(w, PAD, s.pad());
        w.put(ADD_BOS, GgufValue.ofBool(s.addBos()));
        w.put(ADD_EOS, GgufValue.ofBool(s.addEos()));
        w.put(ADD_SPACE_PREFIX, GgufValue.ofBool(s.addSpacePrefix()));
        return "";
    }

    /** llama.cpp's name for the tokenizer's pre-tokenizer, or null. */
    static String preName(BpeTokenizer b) {
        PreTokenizer p = b.preTokenizer();
        if (p.addPrefixSpace()) return null;
        if (p.regex().equals(PreTokenizer.GPT2_PATTERN) && !b.ignoreMerges()) return "gpt-2";
        if (p.regex().equals(QWEN2_PATTERN) && !b.ignoreMerges()) return "qwen2";
        if (p.regex().equals(LLAMA3_PATTERN) && b.ignoreMerges()) return "llama-bpe";
        return null;
    }

    private static void putId(GgufWriter w, String key, OptionalInt id) {
        if (id.isPresent()) w.put(key, GgufValue.ofUint32(id.getAsInt()));
    }

    private static OptionalInt id(GgufFile f, String key, int size) {
        if (f.value(key) == null) return OptionalInt.empty();
        long v = f.integer(key);
        if (v < 0 || v >= size) throw bad(f, key, v + " is not a token id (the vocabulary has " + size + ")");
        return OptionalInt.of((int) v);
    }

    private static OptionalInt idOr(GgufFile f, String key, int size, OptionalInt fallback) {
        return f.value(key) == null ? fallback : id(f, key, size);
    }

    private static boolean bool(GgufFile f, String key, boolean fallback) {
        GgufValue v = f.value(key);
        if (v == null) return fallback;
        if (v.type() != GgufValueType.BOOL) throw bad(f, key, "is a " + v.type() + ", not a BOOL");
        return v.asBool();
    }

    private static String[] strings(GgufFile f, String key) {
        GgufValue v = f.value(key);
        if (v == null) throw bad(f, key, "is missing");
        if (v.type() != GgufValueType.ARRAY || v.asArray().elementType() != GgufValueType.STRING) {
            throw bad(f, key, "is not an array of strings");
        }
        return v.asArray().strings();
    }

    private static long[] integers(GgufFile f, String key) {
        GgufValue v = f.value(key);
        if (v.type() != GgufValueType.ARRAY || !v.asArray().elementType().isInteger()) {
            throw bad(f, key, "is not an array of integers");
        }
        return v.asArray().longs();
    }

    private static Result none(String why) {
        return new Result(Optional.empty(), why);
    }

    private static GgufFormatException bad(GgufFile f, String key, String problem) {
        return new GgufFormatException(f.source(), "metadata '" + key + "'", problem);
    }
}
