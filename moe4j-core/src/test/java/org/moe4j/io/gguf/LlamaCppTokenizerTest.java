package org.moe4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moe4j.io.tokenizer.BpeTokenizer;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.io.tokenizer.SpmTokenizer;
import org.moe4j.io.tokenizer.StreamingDecoder;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.io.tokenizer.TokenizerJson;

/**
 * The tokenizers in GGUF files from llama.cpp's converter against llama.cpp's own tokenizer on them
 * (tools/llamacpp/tokens.c, through tools/golden/make_llamacpp_converted_fixtures.py): "gpt2" vocabularies (qwen2 and
 * olmo pre-tokenizers) and "llama" SentencePiece vocabularies, one from a tokenizer.model with real scores
 * (llama-spm, and Mixtral's 64 tokens) and one from a tokenizer.json with the flat scores gguf-py gives it
 * (llama-hf). Encoding with and without special tokens, decoding with and without them, id lists that split
 * characters, and a round trip through {@link GgufWriter}. (The llama-hf file also shows a limit of the converter:
 * gguf-py gives a tokenizer.json's tokens a placeholder score of -1000, so llama.cpp merges them leftmost first and
 * tokenizes 10 of these 21 texts unlike Hugging Face; moe4j reading the GGUF follows llama.cpp.)
 */
class LlamaCppTokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> GGUF = Map.of("qwen2", "vocab-qwen2.gguf", "olmo", "vocab-olmo.gguf",
            "llama-hf", "vocab-llama-hf.gguf", "llama-spm", "vocab-llama-spm.gguf", "mixtral", "mixtral-f32.gguf");

    private static JsonNode fixture(String name) {
        try {
            return JSON.readTree(LlamaCppConvertedTest.resource("gguf-converted/tokens-" + name + ".json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Tokenizer tokenizer(String name) {
        try (GgufFile f = GgufFile.open(LlamaCppConvertedTest.resource("gguf-converted/" + GGUF.get(name)))) {
            GgufTokenizer.Result r = GgufTokenizer.read(f);
            return r.tokenizer().orElseThrow(() -> new AssertionError(name + ": " + r.note()));
        }
    }

    private static int[] ints(JsonNode list) {
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) out[i] = list.get(i).asInt();
        return out;
    }

    /** Bytes 0-255 as ids 0-255: its decode turns llama.cpp's decoded bytes into text the way moe4j's decoders do. */
    private static final Tokenizer BYTES = new ByteTokenizer();

    @ParameterizedTest
    @ValueSource(strings = {"qwen2", "olmo", "llama-hf", "llama-spm", "mixtral"})
    void encodingAndDecodingMatchLlamaCpp(String name) {
        JsonNode fx = fixture(name);
        Tokenizer raw = tokenizer(name);
        // llama.cpp's detokenize "cleans spaces" for most byte-level vocabularies (olmo here, not qwen2), as
        // transformers' clean_up_tokenization_spaces does; moe4j decodes as Hugging Face's tokenizers do, without it
        Tokenizer t = name.equals("olmo") ? new SpacesCleaned(raw) : raw;
        Class<?> kind = name.startsWith("llama") || name.equals("mixtral") ? SpmTokenizer.class : BpeTokenizer.class;
        assertInstanceOf(kind, raw);
        List<Executable> checks = new ArrayList<>();
        JsonNode texts = fx.get("texts");
        for (int i = 0; i < texts.size(); i++) {
            String s = texts.get(i).asText();
            int[] plain = ints(fx.get("ids").get(i)), special = ints(fx.get("ids_special").get(i));
            String where = name + " text " + i + " '" + s + "'";
            String decoded = text(fx.get("decoded").get(i)), decodedSpecial = text(fx.get("decoded_special").get(i));
            checks.add(() -> assertArrayEquals(plain, t.encodeOrdinary(s), where + ": encode, special text as text"));
            checks.add(() -> assertArrayEquals(special, t.encode(s, true), where + ": encode with special tokens"));
            checks.add(() -> assertEquals(decoded, t.decode(plain, true), where + ": decode"));
            checks.add(() -> assertEquals(decodedSpecial, t.decode(special, false), where + ": decode showing specials"));
        }
        JsonNode lists = fx.get("decode_ids");
        for (int i = 0; i < lists.size(); i++) {
            int[] ids = ints(lists.get(i));
            String where = name + " ids " + lists.get(i);
            String plain = text(fx.get("decode_plain").get(i)), special = text(fx.get("decode_special").get(i));
            checks.add(() -> assertEquals(plain, t.decode(ids, true), where));
            checks.add(() -> assertEquals(special, t.decode(ids, false), where));
            checks.add(() -> assertEquals(raw.decode(ids, false), streamed(raw, ids), where + ": streamed"));
        }
        assertAll(name, checks.stream());
    }

    private static String streamed(Tokenizer t, int[] ids) {
        StreamingDecoder d = new StreamingDecoder(t);
        StringBuilder out = new StringBuilder();
        for (int id : ids) out.append(d.push(id));
        return out.append(d.finish()).toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2", "olmo"})
    void byteLevelVocabulariesEncodeAsTheirTokenizerJson(String name) {
        String source = name.equals("qwen2") ? "qwen_style.tokenizer.json" : "base.tokenizer.json";
        Tokenizer hf = TokenizerJson.read(LlamaCppConvertedTest.resource("tokenizer/" + source));
        Tokenizer gguf = tokenizer(name);
        JsonNode texts = fixture(name).get("texts");
        List<Executable> checks = new ArrayList<>();
        for (JsonNode text : texts) {
            String s = text.asText();
            checks.add(() -> assertArrayEquals(hf.encode(s), gguf.encode(s), name + " '" + s + "'"));
        }
        assertAll(checks.stream());
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-hf", "llama-spm", "mixtral"})
    void aSentencePieceVocabularyIsWrittenAsTheConverterWroteIt(String name) {
        GgufWriter w = new GgufWriter();
        try (GgufFile converted = GgufFile.open(LlamaCppConvertedTest.resource("gguf-converted/" + GGUF.get(name)))) {
            Tokenizer t = GgufTokenizer.read(converted).tokenizer().orElseThrow();
            GgufTokenizer.write(w, t, t.vocabSize());
            try (GgufFile ours = GgufFile.parse(w.toBytes(), name)) {
                for (Map.Entry<String, GgufValue> e : converted.metadata().entrySet()) {
                    String key = e.getKey();
                    if (!key.startsWith("tokenizer.ggml.") || key.equals("tokenizer.ggml.add_sep_token")) continue;
                    assertEquals(e.getValue(), ours.value(key), name + ": " + key);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-hf", "llama-spm", "mixtral"})
    void aSentencePieceVocabularySurvivesAGgufRoundTrip(String name) {
        SpmTokenizer a = (SpmTokenizer) tokenizer(name);
        GgufWriter w = new GgufWriter();
        assertEquals("", GgufTokenizer.write(w, a, a.vocabSize() + 3));
        GgufTokenizer.Result r;
        try (GgufFile f = GgufFile.parse(w.toBytes(), name)) {
            assertEquals("llama", f.string(GgufTokenizer.MODEL));
            r = GgufTokenizer.read(f);
        }
        SpmTokenizer b = (SpmTokenizer) r.tokenizer().orElseThrow();
        assertEquals(a.vocabSize() + 3, b.vocabSize());
        assertEquals(a.tokens(), b.tokens().subList(0, a.vocabSize()));
        assertArrayEquals(a.scores(), Arrays.copyOf(b.scores(), a.vocabSize()));
        assertArrayEquals(a.types(), Arrays.copyOf(b.types(), a.vocabSize()));
        assertEquals(SpmTokenizer.Type.UNUSED, b.types()[a.vocabSize()]);
        assertEquals(a.settings(), b.settings());
        for (JsonNode text : fixture(name).get("texts")) {
            assertArrayEquals(a.encode(text.asText(), true), b.encode(text.asText(), true), text.asText());
        }
    }

    /**
     * Decoding followed by llama.cpp's space clean-up (llama_vocab::impl::detokenize with clean_spaces): no space
     * before "?", "!", "." or ","; " ' " loses both spaces; no space before "'s", "'m", "'re", "'ve". Each pass reads
     * the text as the pass before left it.
     */
    private record SpacesCleaned(Tokenizer t) implements Tokenizer {
        @Override
        public String decode(int[] ids, boolean skipSpecial) {
            String s = t.decode(ids, skipSpecial);
            StringBuilder a = new StringBuilder();
            for (int i = 0; i < s.length(); i++) {
                char x = s.charAt(i);
                if (i > 0 && s.charAt(i - 1) == ' ' && "?!.,".indexOf(x) >= 0) a.setLength(a.length() - 1);
                a.append(x);
            }
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < a.length(); i++) {
                char x = a.charAt(i);
                if (i > 0 && x == '\'' && i + 1 < a.length() && a.charAt(i - 1) == ' ' && a.charAt(i + 1) == ' ') {
                    b.setLength(b.length() - 1);
                    b.append(x);
                    i++; // the space after it goes too
                    continue;
                }
                b.append(x);
            }
            StringBuilder c = new StringBuilder();
            for (int i = 0; i < b.length(); i++) {
                char x = b.charAt(i);
                if (i > 0 && b.charAt(i - 1) == ' ' && x == '\'' && i + 1 < b.length()) {
                    char x1 = b.charAt(i + 1), x2 = i + 2 < b.length() ? b.charAt(i + 2) : 0;
                    boolean drop = x1 == 's' || x1 == 'm' || (x2 != 0 && (x1 == 'r' || x1 == 'v') && x2 == 'e');
                    if (drop) c.setLength(c.length() - 1);
                }
                c.append(x);
            }
            return c.toString();
        }

        @Override
        public int[] encode(String text) {
            return t.encode(text);
        }

        @Override
        public int[] encode(String text, boolean addSpecialTokens) {
            return t.encode(text, addSpecialTokens);
        }

        @Override
        public int[] encodeOrdinary(String text) {
            return t.encodeOrdinary(text);
        }

        @Override
        public int vocabSize() {
            return t.vocabSize();
        }

        @Override
        public byte[] tokenBytes(int id) {
            return t.tokenBytes(id);
        }

        @Override
        public String tokenString(int id) {
            return t.tokenString(id);
        }

        @Override
        public OptionalInt tokenId(String token) {
            return t.tokenId(token);
        }

        @Override
        public boolean isSpecial(int id) {
            return t.isSpecial(id);
        }

        @Override
        public org.moe4j.io.tokenizer.SpecialRoles roles() {
            return t.roles();
        }
    }

    @Test
    void sentencePieceMetadataMoe4jCannotUseIsNamed() {
        String[] tokens = {"<unk>", "<s>", "</s>", "\u2581a"};
        // malformed: the file, the key and the problem
        GgufWriter w = new GgufWriter().put(GgufTokenizer.MODEL, GgufValue.ofString("llama"))
                .put(GgufTokenizer.TOKENS, GgufValue.ofArray(GgufArray.ofStrings(tokens)))
                .put(GgufTokenizer.SCORES, GgufValue.ofArray(GgufArray.ofStrings("0", "0", "0", "0")));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> read(w, "scores.gguf"));
        assertTrue(e.getMessage().contains("scores.gguf") && e.getMessage().contains("tokenizer.ggml.scores")
                && e.getMessage().contains("FLOAT32"), e.getMessage());
        w.put(GgufTokenizer.SCORES, GgufValue.ofArray(GgufArray.ofFloats(0, 0, 0)));
        e = assertThrows(GgufFormatException.class, () -> read(w, "short.gguf"));
        assertTrue(e.getMessage().contains("3 entries for 4 tokens"), e.getMessage());
        w.put(GgufTokenizer.SCORES, GgufValue.ofArray(GgufArray.ofFloats(0, 0, 0, -1)));
        w.put(GgufTokenizer.ADD_BOS, GgufValue.ofUint32(1));
        e = assertThrows(GgufFormatException.class, () -> read(w, "flag.gguf"));
        assertTrue(e.getMessage().contains("tokenizer.ggml.add_bos_token") && e.getMessage().contains("BOOL"), e.getMessage());
        // well-formed but unusable: the model loads without a tokenizer and the note says why
        w.put(GgufTokenizer.ADD_BOS, GgufValue.ofBool(true));
        w.put(GgufTokenizer.TOKENS, GgufValue.ofArray(GgufArray.ofStrings("<unk>", "<s>", "a", "a")));
        GgufTokenizer.Result r = read(w, "twice.gguf");
        assertTrue(r.tokenizer().isEmpty() && r.note().contains("both 'a'"), r.note());
        w.put(GgufTokenizer.MODEL, GgufValue.ofString("bert"));
        r = read(w, "bert.gguf");
        assertTrue(r.tokenizer().isEmpty() && r.note().contains("'bert'"), r.note());
        // unknown token types read as llama.cpp reads them (UNDEFINED), absent scores as 0
        w.put(GgufTokenizer.MODEL, GgufValue.ofString("llama")).put(GgufTokenizer.TOKENS,
                GgufValue.ofArray(GgufArray.ofStrings(tokens))).put(GgufTokenizer.TYPES,
                GgufValue.ofArray(GgufArray.ofInts(2, 3, 3, 99)));
        SpmTokenizer t = (SpmTokenizer) read(w, "ok.gguf").tokenizer().orElseThrow();
        assertEquals(SpmTokenizer.Type.UNDEFINED, t.types()[3]);
        assertEquals("", t.decode(new int[] {3}, false)); // llama.cpp shows nothing for such a token
    }

    private static GgufTokenizer.Result read(GgufWriter w, String name) {
        try (GgufFile f = GgufFile.parse(w.toBytes(), name)) {
            return GgufTokenizer.read(f);
        }
    }

    private static String text(JsonNode hex) {
        byte[] b = HexFormat.of().parseHex(hex.asText());
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xFF;
        return BYTES.decode(ids); // moe4j's lossy UTF-8, as every decode here uses it
    }
}
