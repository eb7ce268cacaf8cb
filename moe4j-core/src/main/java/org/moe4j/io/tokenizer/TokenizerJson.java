package org.moe4j.io.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.DataFormatException;

/**
 * Hugging Face's {@code tokenizer.json} for BPE, read and written: byte-level BPE (GPT-2, Qwen and OLMoE style) as
 * a {@link BpeTokenizer}, and SentencePiece-style BPE with byte fallback (Llama, Mistral, Mixtral) as a
 * {@link SentencePieceBpe} (see {@link SentencePieceJson} for what that reads). A file is byte-level when its
 * pre-tokenizer or decoder is {@code ByteLevel}.
 *
 * <p>Byte-level, read: model {@code BPE} with its {@code vocab} and {@code merges} (as {@code "a b"} strings, the older form,
 * or {@code ["a", "b"]} arrays, the newer); pre-tokenizer {@code ByteLevel} with its regex, or a {@code Sequence}
 * of a regex {@code Split} (behaviour {@code Isolated}) and a {@code ByteLevel} without regex (Qwen); normalizer
 * none or NFC/NFD/NFKC/NFKD; decoder {@code ByteLevel}; post-processor none or {@code ByteLevel};
 * {@code added_tokens} with their special flags. Anything else (byte fallback, dropout, templates adding bos) is
 * refused with a message naming the field, rather than tokenizing differently from Hugging Face.
 * {@code truncation} and {@code padding} are batch settings and are ignored.
 *
 * <p>The file is untrusted: every field is checked, duplicate keys are refused, and Jackson's limits on nesting
 * depth and string and number lengths hold; any problem is one {@link DataFormatException} naming the file and
 * the field (e.g. {@code model.merges[12]}).
 */
public final class TokenizerJson {
    private TokenizerJson() {}

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    // ---- reading -----------------------------------------------------------------------------------------------

    /** Reads a {@code tokenizer.json} file. */
    public static Tokenizer read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new Moe4jException(file + ": no such file", e);
        } catch (IOException e) {
            throw new Moe4jException(file + ": cannot read: " + e, e);
        }
        return parse(bytes, file.toString());
    }

    /** Reads {@code tokenizer.json} text; {@code name} (a file name) is used in messages. */
    public static Tokenizer parse(String json, String name) {
        return parse(json.getBytes(StandardCharsets.UTF_8), name);
    }

    private static Tokenizer parse(byte[] json, String name) {
        JsonNode root;
        JsonParser p;
        try {
            p = MAPPER.createParser(json);
        } catch (IOException e) {
            throw new DataFormatException(name, "json", "cannot parse: " + e.getMessage(), null, e);
        }
        try (p) {
            root = MAPPER.readTree(p);
            if (p.nextToken() != null) throw new Fields(name).error("(root)", "text after the JSON object", null);
        } catch (JsonProcessingException e) {
            var at = e.getLocation() != null ? e.getLocation() : p.currentLocation();
            throw new DataFormatException(name, "line " + at.getLineNr() + ", column " + at.getColumnNr(),
                    "not valid JSON: " + e.getOriginalMessage(), "check that the file is a complete tokenizer.json", e);
        } catch (IOException e) {
            throw new DataFormatException(name, "json", "cannot parse: " + e.getMessage(), null, e);
        }
        return new Fields(name).tokenizer(root);
    }

    /** The checks of one file's fields, each failure naming the file and the field. */
    record Fields(String file) {
        DataFormatException error(String field, String problem, String fix) {
            return new DataFormatException(file, field, problem, fix);
        }

        Tokenizer tokenizer(JsonNode root) {
            if (root == null || !root.isObject()) {
                throw error("(root)", "not a JSON object", "a tokenizer.json is one object with a \"model\" field");
            }
            JsonNode model = require(root, "model", "model");
            if (!model.isObject()) throw error("model", "not an object", null);
            String type = optionalString(model, "type", "model.type", "BPE");
            if (!type.equals("BPE")) {
                throw error("model.type", "the model is " + type + ", not BPE", "only BPE tokenizers are read"
                        + " (byte-level as GPT-2/Qwen, or SentencePiece-style as Llama/Mistral); " + type
                        + " (Unigram, WordPiece, WordLevel) is not supported");
            }
            if (!isByteLevel(root)) return SentencePieceJson.read(this, root, model);
            requireNullOrAbsent(model, "dropout", "model.dropout", "dropout changes how text is tokenized");
            for (String affix : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
                JsonNode v = model.get(affix);
                if (v != null && !v.isNull() && !(v.isTextual() && v.asText().isEmpty())) {
                    throw error("model." + affix, "is " + v + "; byte-level BPE has none", null);
                }
            }
            if (optionalBoolean(model, "byte_fallback", "model.byte_fallback", false)) {
                throw error("model.byte_fallback", "true: SentencePiece-style BPE with byte fallback is not"
                        + " supported yet", null);
            }
            boolean ignoreMerges = optionalBoolean(model, "ignore_merges", "model.ignore_merges", false);
            Map<String, Integer> vocab = vocab(require(model, "vocab", "model.vocab"));
            List<String[]> merges = merges(require(model, "merges", "model.merges"));

            Normalizer.Form normalizer = normalizer(root.get("normalizer"));
            PreTokenizer pre = preTokenizer(root.get("pre_tokenizer"));
            decoder(root.get("decoder"));
            postProcessor(root.get("post_processor"));
            List<AddedToken> added = addedTokens(root.get("added_tokens"), vocab, false);
            return new BpeTokenizer(vocab, merges, added, pre, normalizer, ignoreMerges, null,
                    (field, problem) -> error(field, problem, null));
        }

        /** Whether the file is byte-level BPE: a ByteLevel (or Split + ByteLevel) pre-tokenizer or decoder. */
        static boolean isByteLevel(JsonNode root) {
            JsonNode pre = root.get("pre_tokenizer"), dec = root.get("decoder");
            String preType = pre != null && pre.isObject() && pre.get("type") != null ? pre.get("type").asText() : "";
            String decType = dec != null && dec.isObject() && dec.get("type") != null ? dec.get("type").asText() : "";
            return preType.equals("ByteLevel") || preType.equals("Sequence") || decType.equals("ByteLevel")
                    || (pre == null && dec == null);
        }

        Map<String, Integer> vocab(JsonNode node) {
            Map<String, Integer> vocab = ids(node);
            for (int b = 0; b < 256; b++) {
                String s = String.valueOf(ByteLevel.charOf(b));
                if (!vocab.containsKey(s)) {
                    throw error("model.vocab", String.format("has no token for byte 0x%02X (%s): a byte-level BPE"
                            + " vocabulary needs all 256 bytes", b, s), "is this a byte-level BPE tokenizer?");
                }
            }
            return vocab;
        }

        /** The token -> id map of model.vocab, checked: non-negative ints, no id twice, none far past the count. */
        Map<String, Integer> ids(JsonNode node) {
            if (!node.isObject()) throw error("model.vocab", "not an object of token -> id", null);
            Map<String, Integer> vocab = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                String field = "model.vocab." + e.getKey();
                JsonNode id = e.getValue();
                if (!id.isInt() || id.asInt() < 0) throw error(field, "the id " + id + " is not a non-negative int", null);
                vocab.put(e.getKey(), id.asInt());
            }
            if (vocab.isEmpty()) throw error("model.vocab", "empty", null);
            // Ids are an index into per-token arrays: a few holes are fine, an id far past the count is an attack
            // on memory (or a broken file), not a vocabulary.
            long limit = Math.max(2L * vocab.size(), vocab.size() + 1024L);
            Map<Integer, String> byId = new java.util.HashMap<>();
            for (Map.Entry<String, Integer> e : vocab.entrySet()) {
                String field = "model.vocab." + e.getKey();
                if (e.getValue() >= limit) {
                    throw error(field, "the id " + e.getValue() + " is far beyond the " + vocab.size()
                            + " tokens of the vocabulary", "ids should run from 0 to the vocabulary size");
                }
                String other = byId.putIfAbsent(e.getValue(), e.getKey());
                if (other != null) throw error(field, "the id " + e.getValue() + " is also the id of " + other, null);
            }
            return vocab;
        }

        List<String[]> merges(JsonNode node) {
            if (!node.isArray()) throw error("model.merges", "not an array", null);
            List<String[]> merges = new ArrayList<>(node.size());
            for (int i = 0; i < node.size(); i++) {
                JsonNode m = node.get(i);
                String field = "model.merges[" + i + "]";
                if (m.isTextual()) { // older files: "a b" (byte-level tokens never hold a space)
                    String[] parts = m.asText().split(" ", -1);
                    if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                        throw error(field, "\"" + m.asText() + "\" is not two tokens separated by one space", null);
                    }
                    merges.add(parts);
                } else if (m.isArray()) {
                    if (m.size() != 2 || !m.get(0).isTextual() || !m.get(1).isTextual()
                            || m.get(0).asText().isEmpty() || m.get(1).asText().isEmpty()) {
                        throw error(field, m + " is not a pair of two token strings", null);
                    }
                    merges.add(new String[] {m.get(0).asText(), m.get(1).asText()});
                } else {
                    throw error(field, m + " is neither \"a b\" nor [\"a\", \"b\"]", null);
                }
            }
            return merges;
        }

        Normalizer.Form normalizer(JsonNode node) {
            if (node == null || node.isNull()) return null;
            String type = typeOf(node, "normalizer");
            return switch (type) {
                case "NFC" -> Normalizer.Form.NFC;
                case "NFD" -> Normalizer.Form.NFD;
                case "NFKC" -> Normalizer.Form.NFKC;
                case "NFKD" -> Normalizer.Form.NFKD;
                default -> throw error("normalizer.type", "the normalizer " + type + " is not supported",
                        "supported: none, NFC, NFD, NFKC, NFKD");
            };
        }

        PreTokenizer preTokenizer(JsonNode node) {
            if (node == null || node.isNull()) {
                throw error("pre_tokenizer", "missing", "byte-level BPE needs the ByteLevel pre-tokenizer");
            }
            String type = typeOf(node, "pre_tokenizer");
            if (type.equals("ByteLevel")) {
                boolean prefix = optionalBoolean(node, "add_prefix_space", "pre_tokenizer.add_prefix_space", true);
                if (!optionalBoolean(node, "use_regex", "pre_tokenizer.use_regex", true)) {
                    throw error("pre_tokenizer.use_regex", "false, with no Split before it: the text would not"
                            + " be split at all", null);
                }
                return PreTokenizer.of(PreTokenizer.GPT2_PATTERN, prefix);
            }
            if (type.equals("Sequence")) {
                JsonNode list = require(node, "pretokenizers", "pre_tokenizer.pretokenizers");
                if (!list.isArray() || list.size() != 2) {
                    throw error("pre_tokenizer.pretokenizers", "supported: a Split followed by a ByteLevel", null);
                }
                String split = "pre_tokenizer.pretokenizers[0]", byteLevel = "pre_tokenizer.pretokenizers[1]";
                if (!typeOf(list.get(0), split).equals("Split")) throw error(split + ".type", "not Split", null);
                if (!typeOf(list.get(1), byteLevel).equals("ByteLevel")) {
                    throw error(byteLevel + ".type", "not ByteLevel", null);
                }
                String regex = splitRegex(list.get(0), split);
                boolean prefix = optionalBoolean(list.get(1), "add_prefix_space", byteLevel + ".add_prefix_space", true);
                if (optionalBoolean(list.get(1), "use_regex", byteLevel + ".use_regex", true)) {
                    throw error(byteLevel + ".use_regex", "true after a Split: the GPT-2 regex would split again",
                            "not supported yet");
                }
                try {
                    return PreTokenizer.of(regex, prefix);
                } catch (Moe4jException e) {
                    throw error(split + ".pattern", e.getMessage(), null);
                }
            }
            throw error("pre_tokenizer.type", "the pre-tokenizer " + type + " is not supported",
                    "supported: ByteLevel, or Sequence [Split, ByteLevel]");
        }

        String splitRegex(JsonNode split, String field) {
            JsonNode pattern = require(split, "pattern", field + ".pattern");
            String behavior = optionalString(split, "behavior", field + ".behavior", "Isolated");
            if (!behavior.equals("Isolated")) {
                throw error(field + ".behavior", behavior + " is not supported", "supported: Isolated");
            }
            if (optionalBoolean(split, "invert", field + ".invert", false)) {
                throw error(field + ".invert", "true is not supported", null);
            }
            if (pattern.isObject() && pattern.size() == 1 && pattern.has("Regex") && pattern.get("Regex").isTextual()) {
                return pattern.get("Regex").asText();
            }
            if (pattern.isObject() && pattern.size() == 1 && pattern.has("String") && pattern.get("String").isTextual()) {
                return literal(pattern.get("String").asText());
            }
            throw error(field + ".pattern", "not {\"Regex\": \"...\"} or {\"String\": \"...\"}", null);
        }

        /** A regex matching {@code text} literally, in syntax both Java and Oniguruma read. */
        static String literal(String text) {
            StringBuilder b = new StringBuilder();
            for (char c : text.toCharArray()) {
                if ("\\.[]{}()*+-?^$|/".indexOf(c) >= 0) b.append('\\');
                b.append(c);
            }
            return b.toString();
        }

        void decoder(JsonNode node) {
            if (node == null || node.isNull()) {
                throw error("decoder", "missing", "byte-level BPE needs the ByteLevel decoder");
            }
            String type = typeOf(node, "decoder");
            if (!type.equals("ByteLevel")) {
                throw error("decoder.type", "the decoder " + type + " is not supported", "supported: ByteLevel");
            }
        }

        void postProcessor(JsonNode node) {
            if (node == null || node.isNull()) return;
            String type = typeOf(node, "post_processor");
            if (!type.equals("ByteLevel")) { // ByteLevel only trims offsets, which we do not report
                throw error("post_processor.type", "the post-processor " + type + " is not supported",
                        "supported: none or ByteLevel; templates that add tokens come later");
            }
        }

        /**
         * The added tokens. Hugging Face does not take their declared ids: it gives a token in the model's vocabulary
         * that id, and the others the next ids after the vocabulary, in order. A declared id that differs would
         * tokenize differently there, so it is refused.
         */
        List<AddedToken> addedTokens(JsonNode node, Map<String, Integer> vocab, boolean withFlags) {
            List<AddedToken> added = new ArrayList<>();
            if (node == null || node.isNull()) return added;
            if (!node.isArray()) throw error("added_tokens", "not an array", null);
            int next = -1; // the largest id assigned so far, or -1
            for (int i = 0; i < node.size(); i++) {
                JsonNode t = node.get(i);
                String field = "added_tokens[" + i + "]";
                if (!t.isObject()) throw error(field, "not an object", null);
                JsonNode id = require(t, "id", field + ".id");
                if (!id.isInt() || id.asInt() < 0) throw error(field + ".id", id + " is not a non-negative int", null);
                JsonNode content = require(t, "content", field + ".content");
                if (!content.isTextual() || content.asText().isEmpty()) {
                    throw error(field + ".content", "not a non-empty string", null);
                }
                boolean[] f = new boolean[3];
                List<String> names = List.of("single_word", "lstrip", "rstrip");
                for (int k = 0; k < 3; k++) {
                    f[k] = optionalBoolean(t, names.get(k), field + "." + names.get(k), false);
                    if (f[k] && !withFlags) {
                        throw error(field + "." + names.get(k), "true is not supported for byte-level BPE yet", null);
                    }
                }
                boolean special = optionalBoolean(t, "special", field + ".special", false);
                // byte-level BPE matches every added token in the original text, which normalized ones also are
                // there when the normalizer (NFC at most) leaves them alone
                boolean normalized = optionalBoolean(t, "normalized", field + ".normalized", !special);
                Integer inVocab = vocab.get(content.asText());
                int expected = inVocab != null ? inVocab
                        : next >= vocab.size() ? next + 1 : vocab.size();
                if (id.asInt() != expected) {
                    throw error(field + ".id", "declares " + id.asInt() + " for " + content.asText()
                            + ", but Hugging Face would give it " + expected, "renumber the added tokens");
                }
                next = Math.max(next, expected);
                added.add(withFlags ? new AddedToken(expected, content.asText(), special, f[0], f[1], f[2], normalized)
                        : new AddedToken(expected, content.asText(), special));
            }
            return added;
        }

        JsonNode require(JsonNode parent, String name, String field) {
            JsonNode v = parent.get(name);
            if (v == null || v.isNull()) throw error(field, "missing", null);
            return v;
        }

        String typeOf(JsonNode node, String field) {
            if (!node.isObject()) throw error(field, "not an object", null);
            JsonNode type = require(node, "type", field + ".type");
            if (!type.isTextual()) throw error(field + ".type", "not a string", null);
            return type.asText();
        }

        String optionalString(JsonNode parent, String name, String field, String otherwise) {
            JsonNode v = parent.get(name);
            if (v == null || v.isNull()) return otherwise;
            if (!v.isTextual()) throw error(field, v + " is not a string", null);
            return v.asText();
        }

        boolean optionalBoolean(JsonNode parent, String name, String field, boolean otherwise) {
            JsonNode v = parent.get(name);
            if (v == null || v.isNull()) return otherwise;
            if (!v.isBoolean()) throw error(field, v + " is not true or false", null);
            return v.asBoolean();
        }

        void requireNullOrAbsent(JsonNode parent, String name, String field, String why) {
            JsonNode v = parent.get(name);
            if (v != null && !v.isNull()) throw error(field, "is " + v + "; not supported: " + why, null);
        }
    }

    // ---- writing -----------------------------------------------------------------------------------------------

    /** Writes {@code tokenizer} to {@code file} through a temporary file and a rename, so no half file is left. */
    public static void write(Tokenizer tokenizer, Path file) {
        String json = toJson(tokenizer); // before any file is touched: an unwritable kind fails here
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
            Files.writeString(tmp, json, StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new Moe4jException(file + ": cannot write: " + e, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the rename happened or the write failed: either way nothing more to do
                }
            }
        }
    }

    /** The {@code tokenizer.json} text of {@code tokenizer}, laid out as Hugging Face writes it. */
    public static String toJson(Tokenizer tokenizer) {
        return switch (tokenizer) {
            case BpeTokenizer b -> toJson(b);
            case SentencePieceBpe sp -> SentencePieceJson.toJson(sp);
            default -> throw new Moe4jException("TokenizerJson.write: a " + tokenizer.getClass().getSimpleName()
                    + " has no tokenizer.json form; only BpeTokenizer and SentencePieceBpe are written");
        };
    }

    /** The {@code tokenizer.json} text of a byte-level BPE, laid out as Hugging Face writes it. */
    public static String toJson(BpeTokenizer t) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeStringField("version", "1.0");
            g.writeNullField("truncation");
            g.writeNullField("padding");
            g.writeArrayFieldStart("added_tokens");
            for (AddedToken a : t.addedTokens()) {
                g.writeStartObject();
                g.writeNumberField("id", a.id());
                g.writeStringField("content", a.content());
                g.writeBooleanField("single_word", false);
                g.writeBooleanField("lstrip", false);
                g.writeBooleanField("rstrip", false);
                g.writeBooleanField("normalized", !a.special());
                g.writeBooleanField("special", a.special());
                g.writeEndObject();
            }
            g.writeEndArray();
            if (t.normalizer() == null) {
                g.writeNullField("normalizer");
            } else {
                g.writeObjectFieldStart("normalizer");
                g.writeStringField("type", t.normalizer().name());
                g.writeEndObject();
            }
            writePreTokenizer(g, t.preTokenizer());
            g.writeNullField("post_processor");
            g.writeObjectFieldStart("decoder");
            writeByteLevelFlags(g, true, true);
            g.writeEndObject();
            writeBpeModel(g, null, false, false, t.ignoreMerges(), t.modelVocab(), t.merges());
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return out.append('\n').toString();
    }

    /**
     * The {@code model} object of a BPE tokenizer.json: its flags ({@code unkToken} null for none), the vocabulary
     * in id order and the merges as pairs. Shared by the byte-level and the SentencePiece writers.
     */
    static void writeBpeModel(JsonGenerator g, String unkToken, boolean fuseUnk, boolean byteFallback,
            boolean ignoreMerges, Map<String, Integer> modelVocab, List<String[]> merges) throws IOException {
        g.writeObjectFieldStart("model");
        g.writeStringField("type", "BPE");
        g.writeNullField("dropout");
        if (unkToken == null) g.writeNullField("unk_token");
        else g.writeStringField("unk_token", unkToken);
        g.writeNullField("continuing_subword_prefix");
        g.writeNullField("end_of_word_suffix");
        g.writeBooleanField("fuse_unk", fuseUnk);
        g.writeBooleanField("byte_fallback", byteFallback);
        g.writeBooleanField("ignore_merges", ignoreMerges);
        g.writeObjectFieldStart("vocab");
        List<Map.Entry<String, Integer>> byId = new ArrayList<>(modelVocab.entrySet());
        byId.sort(Map.Entry.comparingByValue());
        for (Map.Entry<String, Integer> e : byId) g.writeNumberField(e.getKey(), e.getValue());
        g.writeEndObject();
        g.writeArrayFieldStart("merges");
        for (String[] m : merges) {
            g.writeStartArray();
            g.writeString(m[0]);
            g.writeString(m[1]);
            g.writeEndArray();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private static void writePreTokenizer(JsonGenerator g, PreTokenizer pre) throws IOException {
        g.writeObjectFieldStart("pre_tokenizer");
        if (pre.regex().equals(PreTokenizer.GPT2_PATTERN)) {
            writeByteLevelFlags(g, pre.addPrefixSpace(), true);
        } else {
            g.writeStringField("type", "Sequence");
            g.writeArrayFieldStart("pretokenizers");
            g.writeStartObject();
            g.writeStringField("type", "Split");
            g.writeObjectFieldStart("pattern");
            g.writeStringField("Regex", pre.regex());
            g.writeEndObject();
            g.writeStringField("behavior", "Isolated");
            g.writeBooleanField("invert", false);
            g.writeEndObject();
            g.writeStartObject();
            writeByteLevelFlags(g, pre.addPrefixSpace(), false);
            g.writeEndObject();
            g.writeEndArray();
        }
        g.writeEndObject();
    }

    private static void writeByteLevelFlags(JsonGenerator g, boolean addPrefixSpace, boolean useRegex)
            throws IOException {
        g.writeStringField("type", "ByteLevel");
        g.writeBooleanField("add_prefix_space", addPrefixSpace);
        g.writeBooleanField("trim_offsets", true);
        g.writeBooleanField("use_regex", useRegex);
    }
}
