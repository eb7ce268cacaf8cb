package org.moe4j.io.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.PriorityQueue;
import org.moe4j.common.Moe4jException;

/**
 * A SentencePiece vocabulary as GGUF files hold it ({@code tokenizer.ggml.model = "llama"}): token texts, scores and
 * token types, no merge list, tokenized as llama.cpp's SPM tokenizer does. Control, user-defined and unknown tokens
 * are cut out of the text first, longest first (control and unknown ones only when parsing special tokens); each
 * stretch between them gets a leading space when it starts the input or follows such a token ({@code
 * addSpacePrefix}), has its spaces written "▁", and starts as its characters; then, repeatedly, the adjacent pair
 * whose concatenation is a token with the highest score is merged, the leftmost on ties. A character left that is
 * no token becomes its UTF-8 bytes as {@code <0xNN>} tokens (byte fallback). Decoding turns "▁" back into spaces and
 * byte tokens into their bytes, drops the leading space of the first token, and shows control tokens only when asked.
 *
 * <p>Where llama.cpp aborts (a character with neither a token nor byte tokens) this uses the unknown token, or
 * throws when there is none. llama.cpp also promotes some tokens to control by name (e.g. {@code <|endoftext|>}
 * typed normal) and strips spaces around tokens for a few models by name; this takes the types as written.
 * Immutable and safe to share between threads.
 */
public final class SpmTokenizer implements Tokenizer {
    /** llama.cpp's token types ({@code tokenizer.ggml.token_type}), with their GGUF numbers. */
    public enum Type {
        UNDEFINED(0), NORMAL(1), UNKNOWN(2), CONTROL(3), USER_DEFINED(4), UNUSED(5), BYTE(6);

        private final int id;

        Type(int id) {
            this.id = id;
        }

        /** The number GGUF stores. */
        public int id() {
            return id;
        }

        /** The type numbered {@code id}; any other number is UNDEFINED, as in llama.cpp. */
        public static Type of(long id) {
            for (Type t : values()) if (t.id == id) return t;
            return UNDEFINED;
        }

        boolean special() {
            return this == CONTROL || this == UNKNOWN;
        }
    }

    /**
     * The settings beside the vocabulary: the special ids (bos, eos, unknown, padding), whether encoding with special
     * tokens adds bos in front and eos behind, and whether a stretch of text starting the input or following a special
     * token gets a leading space (SentencePiece's dummy prefix).
     */
    public record Settings(OptionalInt bos, OptionalInt eos, OptionalInt unk, OptionalInt pad, boolean addBos,
            boolean addEos, boolean addSpacePrefix) {
        /** llama.cpp's defaults for a "llama" vocabulary of {@code size} tokens: bos 1, eos 2, unknown 0. */
        public static Settings defaults(int size) {
            return new Settings(idIn(1, size), idIn(2, size), idIn(0, size), OptionalInt.empty(), true, false, true);
        }

        private static OptionalInt idIn(int id, int size) {
            return id < size ? OptionalInt.of(id) : OptionalInt.empty();
        }
    }

    static final String SPACE = "\u2581";

    private final List<String> tokens; // [size] token texts
    private final float[] scores; // [size]
    private final Type[] types; // [size]
    private final Settings settings;
    private final Map<String, Integer> ids; // text -> id
    private final int[] specialOrder; // control, user-defined and unknown ids, longest text first
    private final int[] byteIds; // [256] the token of each byte, or -1
    private final SpecialRoles roles;

    private SpmTokenizer(List<String> tokens, float[] scores, Type[] types, Settings settings) {
        int n = tokens.size();
        if (scores.length != n || types.length != n) {
            throw new Moe4jException("SpmTokenizer: " + n + " tokens but " + scores.length + " scores and "
                    + types.length + " types");
        }
        this.tokens = List.copyOf(tokens);
        this.scores = scores.clone();
        this.types = types.clone();
        this.settings = settings;
        ids = new HashMap<>(n * 2);
        for (int id = 0; id < n; id++) {
            String t = tokens.get(id);
            if (t.isEmpty()) throw new Moe4jException("SpmTokenizer: token " + id + " is empty");
            if (Float.isNaN(scores[id])) throw new Moe4jException("SpmTokenizer: token " + id + " has score NaN");
            Integer before = ids.put(t, id);
            if (before != null) {
                throw new Moe4jException("SpmTokenizer: tokens " + before + " and " + id + " are both '" + t
                        + "' (llama.cpp refuses such a vocabulary too)");
            }
        }
        for (OptionalInt id : List.of(settings.bos(), settings.eos(), settings.unk(), settings.pad())) {
            if (id.isPresent()) Tokenizer.checkId("SpmTokenizer", id.getAsInt(), n);
        }
        List<Integer> special = new ArrayList<>();
        for (int id = 0; id < n; id++) {
            if (types[id] == Type.CONTROL || types[id] == Type.USER_DEFINED || types[id] == Type.UNKNOWN) special.add(id);
        }
        // longest (in UTF-8 bytes) first, as llama.cpp orders them; ties by id, which llama.cpp leaves unspecified
        special.sort((a, b) -> {
            int la = utf8Length(tokens.get(a)), lb = utf8Length(tokens.get(b));
            return la != lb ? Integer.compare(lb, la) : Integer.compare(a, b);
        });
        specialOrder = special.stream().mapToInt(Integer::intValue).toArray();
        byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.format("<0x%02X>", b));
            if (id == null && b < 0x80) id = ids.get(String.valueOf((char) b)); // llama.cpp's second choice
            byteIds[b] = id == null ? -1 : id;
        }
        roles = new SpecialRoles(settings.bos(), settings.eos(), settings.pad());
    }

    /**
     * A tokenizer over token texts, scores and types by id (each list as long as {@code tokens}); an empty or
     * repeated token text, a NaN score or a special id out of range is a Moe4jException.
     */
    public static SpmTokenizer of(List<String> tokens, float[] scores, Type[] types, Settings settings) {
        return new SpmTokenizer(tokens, scores, types, settings);
    }

    private static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    // ---- encoding ----------------------------------------------------------------------------------------------

    /** The ids of {@code text}; the text of control tokens becomes their ids (as with parse_special in llama.cpp). */
    @Override
    public int[] encode(String text) {
        return tokenize(text, false, true);
    }

    /** The ids of {@code text}; with {@code addSpecialTokens}, bos in front and eos behind as the settings say. */
    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        return tokenize(text, addSpecialTokens, true);
    }

    /** The ids of {@code text} with control-token text read as text; user-defined tokens still match. */
    @Override
    public int[] encodeOrdinary(String text) {
        return tokenize(text, false, false);
    }

    /**
     * llama.cpp's {@code llama_tokenize}: {@code addSpecial} adds bos and eos as the settings say; {@code
     * parseSpecial} lets the text of control and unknown tokens become their ids (user-defined tokens always do).
     */
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList(text.length() / 3 + 4);
        if (addSpecial && settings.addBos()) out.add(required(settings.bos(), "bos"));
        boolean prevSpecial = true; // a stretch at the start of the input gets the space prefix
        for (Object fragment : partition(text, parseSpecial)) {
            if (fragment instanceof Integer id) {
                out.add(id);
                prevSpecial = true;
            } else {
                String raw = (String) fragment;
                String piece = (settings.addSpacePrefix() && prevSpecial ? " " : "") + raw;
                mergeByScore(piece.replace(" ", SPACE), out);
                prevSpecial = false;
            }
        }
        if (addSpecial && settings.addEos()) out.add(required(settings.eos(), "eos"));
        return out.toArray();
    }

    private static int required(OptionalInt id, String role) {
        if (id.isEmpty()) throw new Moe4jException("SpmTokenizer: adding " + role + " but the vocabulary has no " + role);
        return id.getAsInt();
    }

    /**
     * The text cut at special tokens: Strings for the text between them, Integers for the tokens. Each special token,
     * longest first, splits every text fragment left at each of its occurrences, left to right.
     */
    private List<Object> partition(String text, boolean parseSpecial) {
        List<Object> fragments = new ArrayList<>();
        if (text.isEmpty()) return fragments;
        fragments.add(text);
        for (int id : specialOrder) {
            if (!parseSpecial && types[id].special()) continue;
            String t = tokens.get(id);
            List<Object> next = new ArrayList<>(fragments.size() + 2);
            for (Object f : fragments) {
                if (!(f instanceof String s) || !s.contains(t)) {
                    next.add(f);
                    continue;
                }
                int from = 0;
                for (int at = s.indexOf(t); at >= 0; at = s.indexOf(t, from)) {
                    if (at > from) next.add(s.substring(from, at));
                    next.add(id);
                    from = at + t.length();
                }
                if (from < s.length()) next.add(s.substring(from));
            }
            fragments = next;
        }
        return fragments;
    }

    /** One merge candidate: symbols {@code left} and {@code right}, whose texts together are {@code size} chars. */
    private record Bigram(int left, int right, float score, int size) {}

    /** llama.cpp's order: the highest score first, then the leftmost (0.0 and -0.0 compare equal, as in C). */
    private static int compare(Bigram a, Bigram b) {
        if (a.score > b.score) return -1;
        if (a.score < b.score) return 1;
        return Integer.compare(a.left, b.left);
    }

    /** Merges the characters of {@code text} by score and adds the ids of the pieces left. */
    private void mergeByScore(String text, IntList out) {
        int[] starts = new int[text.length() + 1];
        int n = 0;
        for (int i = 0; i < text.length(); i += Character.charCount(text.codePointAt(i))) starts[n++] = i;
        if (n == 0) return;
        int[] start = Arrays.copyOf(starts, n); // [n] each symbol's first char
        int[] len = new int[n]; // [n] chars in each symbol; 0 once merged into its left neighbour
        int[] prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) {
            len[i] = (i + 1 < n ? starts[i + 1] : text.length()) - starts[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>(SpmTokenizer::compare);
        for (int i = 1; i < n; i++) addBigram(text, start, len, i - 1, i, queue);
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            if (len[b.left] == 0 || len[b.right] == 0 || len[b.left] + len[b.right] != b.size) continue; // stale
            len[b.left] += len[b.right];
            len[b.right] = 0;
            next[b.left] = next[b.right];
            if (next[b.right] >= 0) prev[next[b.right]] = b.left;
            addBigram(text, start, len, prev[b.left], b.left, queue);
            addBigram(text, start, len, b.left, next[b.left], queue);
        }
        for (int i = 0; i >= 0; i = next[i]) {
            String piece = text.substring(start[i], start[i] + len[i]);
            Integer id = ids.get(piece);
            if (id != null) {
                out.add(id);
                continue;
            }
            for (byte x : piece.getBytes(StandardCharsets.UTF_8)) out.add(byteToken(x & 0xFF, piece));
        }
    }

    private void addBigram(String text, int[] start, int[] len, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) return;
        int size = len[left] + len[right];
        Integer id = ids.get(text.substring(start[left], start[left] + size));
        if (id != null) queue.add(new Bigram(left, right, scores[id], size));
    }

    private int byteToken(int b, String piece) {
        if (byteIds[b] >= 0) return byteIds[b];
        if (settings.unk().isPresent()) return settings.unk().getAsInt();
        throw new Moe4jException(String.format("SpmTokenizer: '%s' is not in the vocabulary and there is no byte"
                + " token <0x%02X> for it, nor an unknown token (llama.cpp aborts here)", piece, b));
    }

    // ---- decoding ----------------------------------------------------------------------------------------------

    /** The text of {@code ids}, as llama.cpp detokenizes it; control tokens are left out when {@code skipSpecial}. */
    @Override
    public String decode(int[] ids, boolean skipSpecial) {
        return Utf8.decode(detokenize(ids, false, !skipSpecial));
    }

    /**
     * llama.cpp's {@code llama_detokenize}: the bytes of the tokens' pieces, the first token's leading space dropped
     * (with the space prefix); {@code removeSpecial} drops a leading bos (and then keeps that space) and a trailing
     * eos when the settings add them; {@code unparseSpecial} shows control tokens' text.
     */
    public byte[] detokenize(int[] ids, boolean removeSpecial, boolean unparseSpecial) {
        int from = 0, to = ids.length;
        boolean removeSpace = settings.addSpacePrefix();
        if (removeSpecial && settings.addBos() && to > 0 && settings.bos().isPresent()
                && ids[0] == settings.bos().getAsInt()) {
            removeSpace = false;
            from++;
        }
        if (removeSpecial && settings.addEos() && to > from && settings.eos().isPresent()
                && ids[to - 1] == settings.eos().getAsInt()) {
            to--;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = from; i < to; i++) {
            out.writeBytes(piece(ids[i], removeSpace, unparseSpecial));
            removeSpace = false;
        }
        return out.toByteArray();
    }

    /**
     * The bytes of token {@code id} as llama.cpp's {@code token_to_piece} gives them: "▁" as a space, a byte token's
     * byte, control and unknown tokens' text only when {@code special}, nothing for unused tokens; {@code lstrip}
     * drops one leading space.
     */
    public byte[] piece(int id, boolean lstrip, boolean special) {
        Tokenizer.checkId("SpmTokenizer.piece", id, tokens.size());
        Type type = types[id];
        String text = tokens.get(id);
        byte[] b = switch (type) {
            case CONTROL, UNKNOWN -> special ? text.getBytes(StandardCharsets.UTF_8) : new byte[0];
            case USER_DEFINED -> text.getBytes(StandardCharsets.UTF_8);
            case NORMAL -> text.replace(SPACE, " ").getBytes(StandardCharsets.UTF_8);
            case BYTE -> new byte[] {(byte) byteValue(text)};
            case UNUSED, UNDEFINED -> new byte[0];
        };
        if (lstrip && b.length > 0 && b[0] == ' ') b = Arrays.copyOfRange(b, 1, b.length);
        return b;
    }

    /** A byte token's byte: llama.cpp reads the two characters after "<0x" as hex, as far as they are hex. */
    private static int byteValue(String text) {
        String hex = text.length() >= 5 ? text.substring(3, 5) : "";
        int v = 0, digits = 0;
        for (; digits < hex.length(); digits++) {
            int d = Character.digit(hex.charAt(digits), 16);
            if (d < 0) break;
            v = v * 16 + d;
        }
        return v;
    }

    // ---- the vocabulary ----------------------------------------------------------------------------------------

    @Override
    public int vocabSize() {
        return tokens.size();
    }

    /** The bytes token {@code id} stands for inside a text (control tokens as their text; see {@link #piece}). */
    @Override
    public byte[] tokenBytes(int id) {
        return piece(id, false, true);
    }

    @Override
    public String tokenString(int id) {
        Tokenizer.checkId("SpmTokenizer.tokenString", id, tokens.size());
        return tokens.get(id);
    }

    @Override
    public OptionalInt tokenId(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Whether {@code id} is a control or unknown token (left out by {@code decode(ids, true)}). */
    @Override
    public boolean isSpecial(int id) {
        Tokenizer.checkId("SpmTokenizer.isSpecial", id, tokens.size());
        return types[id].special();
    }

    @Override
    public SpecialRoles roles() {
        return roles;
    }

    /** The token texts by id. */
    public List<String> tokens() {
        return Collections.unmodifiableList(tokens);
    }

    /** The scores by id (a copy). */
    public float[] scores() {
        return scores.clone();
    }

    /** The token types by id (a copy). */
    public Type[] types() {
        return types.clone();
    }

    public Settings settings() {
        return settings;
    }

    @Override
    public String toString() {
        return "SpmTokenizer[vocab=" + tokens.size() + ", special=" + specialOrder.length + ", " + settings + "]";
    }
}
