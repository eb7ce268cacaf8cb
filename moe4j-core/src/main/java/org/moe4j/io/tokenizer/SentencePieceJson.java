package org.moe4j.io.tokenizer;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The SentencePiece-style half of {@link TokenizerJson}. Reads: model {@code BPE} with {@code unk_token},
 * {@code fuse_unk}, {@code byte_fallback}, {@code ignore_merges}; normalizer none, {@code Prepend}, literal
 * {@code Replace}, NFC/NFD/NFKC/NFKD, or a {@code Sequence} of them; pre-tokenizer none or {@code Metaspace}
 * ({@code prepend_scheme} first/always/never, {@code split}, or the older {@code add_prefix_space}); decoder
 * {@code Metaspace} or a {@code Sequence} of literal {@code Replace}, {@code ByteFallback}, {@code Fuse},
 * {@code Strip} and {@code Metaspace} (in an order {@link PieceDecoder} streams); post-processor none or
 * {@code TemplateProcessing}; {@code added_tokens} with all their flags. Any other component is refused by name.
 */
final class SentencePieceJson {
    private SentencePieceJson() {}

    private static final ObjectMapper MAPPER = new ObjectMapper();

    static SentencePieceBpe read(TokenizerJson.Fields f, JsonNode root, JsonNode model) {
        f.requireNullOrAbsent(model, "dropout", "model.dropout", "dropout changes how text is tokenized");
        for (String affix : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            JsonNode v = model.get(affix);
            if (v != null && !v.isNull() && !(v.isTextual() && v.asText().isEmpty())) {
                throw f.error("model." + affix, "is " + v + "; SentencePiece-style BPE has none", null);
            }
        }
        JsonNode unk = model.get("unk_token");
        if (unk != null && !unk.isNull() && !unk.isTextual()) throw f.error("model.unk_token", unk + " is not a string", null);
        var flags = new SentencePieceBpe.ModelFlags(unk == null || unk.isNull() ? null : unk.asText(),
                f.optionalBoolean(model, "fuse_unk", "model.fuse_unk", false),
                f.optionalBoolean(model, "byte_fallback", "model.byte_fallback", false),
                f.optionalBoolean(model, "ignore_merges", "model.ignore_merges", false));
        Map<String, Integer> vocab = f.ids(f.require(model, "vocab", "model.vocab"));
        List<String[]> merges = f.merges(f.require(model, "merges", "model.merges"));
        List<TextNormalizer> normalizers = new ArrayList<>();
        normalizer(f, root.get("normalizer"), "normalizer", normalizers);
        Metaspace metaspace = preTokenizer(f, root.get("pre_tokenizer"));
        PieceDecoder decoder = decoder(f, root.get("decoder"));
        List<AddedToken> added = f.addedTokens(root.get("added_tokens"), vocab, true);
        Map<String, Integer> allIds = new LinkedHashMap<>(vocab);
        for (AddedToken t : added) allIds.putIfAbsent(t.content(), t.id());
        SentencePieceBpe.Template template = postProcessor(f, root.get("post_processor"), allIds);
        return new SentencePieceBpe(vocab, merges, flags, added, normalizers, metaspace, decoder, template, null,
                (field, problem) -> f.error(field, problem, null));
    }

    private static void normalizer(TokenizerJson.Fields f, JsonNode node, String field, List<TextNormalizer> out) {
        if (node == null || node.isNull()) return;
        String type = f.typeOf(node, field);
        switch (type) {
            case "Sequence" -> {
                JsonNode list = f.require(node, "normalizers", field + ".normalizers");
                if (!list.isArray()) throw f.error(field + ".normalizers", "not an array", null);
                for (int i = 0; i < list.size(); i++) normalizer(f, list.get(i), field + ".normalizers[" + i + "]", out);
            }
            case "Prepend" -> out.add(new TextNormalizer.Prepend(string(f, node, "prepend", field)));
            case "Replace" -> out.add(new TextNormalizer.Replace(literalPattern(f, node, field),
                    string(f, node, "content", field)));
            case "NFC", "NFD", "NFKC", "NFKD" -> out.add(new TextNormalizer.Unicode(Normalizer.Form.valueOf(type)));
            default -> throw f.error(field + ".type", "the normalizer " + type + " is not supported",
                    "supported: Prepend, Replace (String pattern), NFC, NFD, NFKC, NFKD, Sequence of these");
        }
    }

    private static Metaspace preTokenizer(TokenizerJson.Fields f, JsonNode node) {
        if (node == null || node.isNull()) return null;
        String type = f.typeOf(node, "pre_tokenizer");
        if (!type.equals("Metaspace")) {
            throw f.error("pre_tokenizer.type", "the pre-tokenizer " + type + " is not supported with a"
                    + " SentencePiece-style BPE", "supported: none or Metaspace");
        }
        return metaspace(f, node, "pre_tokenizer");
    }

    /** Metaspace's fields, as Hugging Face reads them (the older add_prefix_space: false means never). */
    private static Metaspace metaspace(TokenizerJson.Fields f, JsonNode node, String field) {
        String replacement = string(f, node, "replacement", field);
        if (replacement.codePointCount(0, replacement.length()) != 1) {
            throw f.error(field + ".replacement", "\"" + replacement + "\" is not one character", null);
        }
        String scheme = f.optionalString(node, "prepend_scheme", field + ".prepend_scheme", "always");
        Metaspace.PrependScheme prepend = switch (scheme) {
            case "first" -> Metaspace.PrependScheme.FIRST;
            case "always" -> Metaspace.PrependScheme.ALWAYS;
            case "never" -> Metaspace.PrependScheme.NEVER;
            default -> throw f.error(field + ".prepend_scheme", "\"" + scheme + "\" is not first, always or never", null);
        };
        JsonNode addPrefix = node.get("add_prefix_space");
        if (addPrefix != null && !addPrefix.isNull()) {
            if (!addPrefix.isBoolean()) throw f.error(field + ".add_prefix_space", addPrefix + " is not true or false", null);
            if (!addPrefix.asBoolean()) { // as Hugging Face: prepend_scheme, absent meaning always, must say never
                if (prepend != Metaspace.PrependScheme.NEVER) {
                    throw f.error(field + ".add_prefix_space", "false does not match prepend_scheme " + scheme, null);
                }
                prepend = Metaspace.PrependScheme.NEVER;
            }
        }
        return new Metaspace(replacement, prepend, f.optionalBoolean(node, "split", field + ".split", true));
    }

    private static PieceDecoder decoder(TokenizerJson.Fields f, JsonNode node) {
        if (node == null || node.isNull()) {
            throw f.error("decoder", "missing", "a SentencePiece-style BPE needs a decoder (Llama: Sequence of"
                    + " Replace, ByteFallback, Fuse, Strip)");
        }
        List<PieceDecoder.Step> steps = new ArrayList<>();
        String type = f.typeOf(node, "decoder");
        if (type.equals("Sequence")) {
            JsonNode list = f.require(node, "decoders", "decoder.decoders");
            if (!list.isArray()) throw f.error("decoder.decoders", "not an array", null);
            for (int i = 0; i < list.size(); i++) steps.add(step(f, list.get(i), "decoder.decoders[" + i + "]"));
        } else {
            steps.add(step(f, node, "decoder"));
        }
        String problem = PieceDecoder.unsupportedOrder(steps);
        if (problem != null) throw f.error("decoder" + (type.equals("Sequence") ? ".decoders" : ""), problem, null);
        return new PieceDecoder(steps);
    }

    private static PieceDecoder.Step step(TokenizerJson.Fields f, JsonNode node, String field) {
        String type = f.typeOf(node, field);
        return switch (type) {
            case "Replace" -> new PieceDecoder.Replace(literalPattern(f, node, field), string(f, node, "content", field));
            case "ByteFallback" -> new PieceDecoder.ByteFallback();
            case "Fuse" -> new PieceDecoder.Fuse();
            case "Strip" -> {
                String content = string(f, node, "content", field);
                if (content.codePointCount(0, content.length()) != 1) {
                    throw f.error(field + ".content", "\"" + content + "\" is not one character", null);
                }
                yield new PieceDecoder.Strip(content.codePointAt(0), count(f, node, "start", field),
                        count(f, node, "stop", field));
            }
            case "Metaspace" -> {
                Metaspace m = metaspace(f, node, field);
                yield new PieceDecoder.MetaspaceStep(m.replacement(), m.prependScheme());
            }
            default -> throw f.error(field + ".type", "the decoder " + type + " is not supported with a"
                    + " SentencePiece-style BPE", "supported: Replace, ByteFallback, Fuse, Strip, Metaspace");
        };
    }

    /**
     * TemplateProcessing's single-sequence template: special tokens around exactly one {@code $A}. The pair template
     * is kept for writing but not used (moe4j encodes one sequence at a time).
     */
    private static SentencePieceBpe.Template postProcessor(TokenizerJson.Fields f, JsonNode node, Map<String, Integer> ids) {
        if (node == null || node.isNull()) return null;
        String type = f.typeOf(node, "post_processor");
        if (!type.equals("TemplateProcessing")) {
            throw f.error("post_processor.type", "the post-processor " + type + " is not supported with a"
                    + " SentencePiece-style BPE", "supported: none or TemplateProcessing");
        }
        JsonNode specials = node.get("special_tokens");
        if (specials != null && !specials.isNull() && !specials.isObject()) {
            throw f.error("post_processor.special_tokens", "not an object", null);
        }
        JsonNode single = f.require(node, "single", "post_processor.single");
        if (!single.isArray()) throw f.error("post_processor.single", "not an array", null);
        List<Integer> prefix = new ArrayList<>(), suffix = new ArrayList<>();
        boolean seenA = false;
        for (int i = 0; i < single.size(); i++) {
            String field = "post_processor.single[" + i + "]";
            JsonNode item = single.get(i);
            if (!item.isObject() || item.size() != 1) throw f.error(field, "not {\"SpecialToken\": ...} or {\"Sequence\": ...}", null);
            if (item.has("Sequence")) {
                String id = string(f, item.get("Sequence"), "id", field + ".Sequence");
                if (!id.equals("A") || seenA) throw f.error(field + ".Sequence.id", "the single template holds $A once, not " + id, null);
                seenA = true;
            } else if (item.has("SpecialToken")) {
                String name = string(f, item.get("SpecialToken"), "id", field + ".SpecialToken");
                JsonNode entry = specials == null ? null : specials.get(name);
                if (entry == null || !entry.isObject()) {
                    throw f.error("post_processor.special_tokens", "has no entry for " + name, null);
                }
                JsonNode list = f.require(entry, "ids", "post_processor.special_tokens." + name + ".ids");
                if (!list.isArray()) throw f.error("post_processor.special_tokens." + name + ".ids", "not an array", null);
                for (JsonNode id : list) {
                    if (!id.isInt() || id.asInt() < 0 || !ids.containsValue(id.asInt())) {
                        throw f.error("post_processor.special_tokens." + name + ".ids", id + " is not the id of a token", null);
                    }
                    (seenA ? suffix : prefix).add(id.asInt());
                }
            } else {
                throw f.error(field, "not {\"SpecialToken\": ...} or {\"Sequence\": ...}", null);
            }
        }
        if (!seenA) throw f.error("post_processor.single", "has no {\"Sequence\": {\"id\": \"A\"}}", null);
        return new SentencePieceBpe.Template(prefix.stream().mapToInt(Integer::intValue).toArray(),
                suffix.stream().mapToInt(Integer::intValue).toArray(), node.toString());
    }

    private static String string(TokenizerJson.Fields f, JsonNode node, String name, String field) {
        if (!node.isObject()) throw f.error(field, "not an object", null);
        JsonNode v = f.require(node, name, field + "." + name);
        if (!v.isTextual()) throw f.error(field + "." + name, v + " is not a string", null);
        return v.asText();
    }

    private static int count(TokenizerJson.Fields f, JsonNode node, String name, String field) {
        JsonNode v = f.require(node, name, field + "." + name);
        if (!v.isInt() || v.asInt() < 0 || v.asInt() > 1 << 20) throw f.error(field + "." + name, v + " is not a count", null);
        return v.asInt();
    }

    private static String literalPattern(TokenizerJson.Fields f, JsonNode node, String field) {
        JsonNode p = f.require(node, "pattern", field + ".pattern");
        if (p.isObject() && p.size() == 1 && p.has("String") && p.get("String").isTextual() && !p.get("String").asText().isEmpty()) {
            return p.get("String").asText();
        }
        throw f.error(field + ".pattern", p + " is not supported", "supported: {\"String\": \"...\"} (not Regex)");
    }

    // ---- writing -----------------------------------------------------------------------------------------------

    static String toJson(SentencePieceBpe t) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = MAPPER.createGenerator(out)) {
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
                g.writeBooleanField("single_word", a.singleWord());
                g.writeBooleanField("lstrip", a.lstrip());
                g.writeBooleanField("rstrip", a.rstrip());
                g.writeBooleanField("normalized", a.normalized());
                g.writeBooleanField("special", a.special());
                g.writeEndObject();
            }
            g.writeEndArray();
            writeNormalizer(g, t.normalizers());
            if (t.metaspace() == null) {
                g.writeNullField("pre_tokenizer");
            } else {
                g.writeObjectFieldStart("pre_tokenizer");
                writeMetaspace(g, t.metaspace().replacement(), t.metaspace().prependScheme());
                g.writeBooleanField("split", t.metaspace().split());
                g.writeEndObject();
            }
            if (t.template() == null) {
                g.writeNullField("post_processor");
            } else {
                g.writeFieldName("post_processor");
                g.writeTree(MAPPER.readTree(t.template().json()));
            }
            g.writeObjectFieldStart("decoder");
            g.writeStringField("type", "Sequence");
            g.writeArrayFieldStart("decoders");
            for (PieceDecoder.Step s : t.decoder().steps()) writeStep(g, s);
            g.writeEndArray();
            g.writeEndObject();
            TokenizerJson.writeBpeModel(g, t.flags().unkToken(), t.flags().fuseUnk(), t.flags().byteFallback(),
                    t.flags().ignoreMerges(), t.modelVocab(), t.merges());
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail; the template JSON was parsed before
        }
        return out.append('\n').toString();
    }

    private static void writeNormalizer(JsonGenerator g, List<TextNormalizer> steps) throws IOException {
        if (steps.isEmpty()) {
            g.writeNullField("normalizer");
            return;
        }
        g.writeObjectFieldStart("normalizer");
        g.writeStringField("type", "Sequence");
        g.writeArrayFieldStart("normalizers");
        for (TextNormalizer n : steps) {
            g.writeStartObject();
            switch (n) {
                case TextNormalizer.Prepend p -> {
                    g.writeStringField("type", "Prepend");
                    g.writeStringField("prepend", p.prepend());
                }
                case TextNormalizer.Replace r -> writeReplace(g, r.pattern(), r.content());
                case TextNormalizer.Unicode u -> g.writeStringField("type", u.form().name());
            }
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private static void writeStep(JsonGenerator g, PieceDecoder.Step step) throws IOException {
        g.writeStartObject();
        switch (step) {
            case PieceDecoder.Replace r -> writeReplace(g, r.pattern(), r.content());
            case PieceDecoder.ByteFallback b -> g.writeStringField("type", "ByteFallback");
            case PieceDecoder.Fuse fu -> g.writeStringField("type", "Fuse");
            case PieceDecoder.Strip s -> {
                g.writeStringField("type", "Strip");
                g.writeStringField("content", Character.toString(s.content()));
                g.writeNumberField("start", s.start());
                g.writeNumberField("stop", s.stop());
            }
            case PieceDecoder.MetaspaceStep m -> {
                writeMetaspace(g, m.replacement(), m.scheme());
                g.writeBooleanField("split", true);
            }
        }
        g.writeEndObject();
    }

    private static void writeReplace(JsonGenerator g, String pattern, String content) throws IOException {
        g.writeStringField("type", "Replace");
        g.writeObjectFieldStart("pattern");
        g.writeStringField("String", pattern);
        g.writeEndObject();
        g.writeStringField("content", content);
    }

    private static void writeMetaspace(JsonGenerator g, String replacement, Metaspace.PrependScheme scheme)
            throws IOException {
        g.writeStringField("type", "Metaspace");
        g.writeStringField("replacement", replacement);
        g.writeStringField("prepend_scheme", scheme.jsonName());
    }
}
