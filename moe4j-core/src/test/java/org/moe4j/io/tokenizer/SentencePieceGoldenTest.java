package org.moe4j.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SentencePiece-style BPE with byte fallback against Hugging Face's own tokenizers library: a Llama-layout
 * tokenizer.json (merges learned from kjv.txt, added tokens with every flag) in variants (Llama's normalizer,
 * Metaspace first/always/never with and without split, the older add_prefix_space, unk without byte fallback fused
 * and not, ignore_merges, "a b" merges). Ids without and with special tokens, decodes with and without specials,
 * and decodes of hand-picked ids (split and invalid UTF-8 in byte tokens) must equal the library's exactly.
 * Fixtures from {@code tools/tokenizer/make_fixtures.sh}.
 */
class SentencePieceGoldenTest {
    static final JsonNode FIXTURES = parse(resource("hf_sp_ids.json"));

    static String resource(String name) {
        try (InputStream in = SentencePieceGoldenTest.class.getResourceAsStream("/tokenizer/" + name)) {
            if (in == null) throw new AssertionError("missing test resource tokenizer/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static JsonNode parse(String json) {
        try {
            return Handmade.JSON.readTree(json);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static int[] ints(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    /** The base file with a variant's overrides, applied as the generator applied them. */
    static ObjectNode variantTree(String name) {
        JsonNode v = FIXTURES.get("variants").get(name);
        ObjectNode tree = (ObjectNode) parse(resource(FIXTURES.get("base").asText()));
        for (Map.Entry<String, JsonNode> e : v.get("top").properties()) tree.set(e.getKey(), e.getValue());
        ObjectNode model = (ObjectNode) tree.get("model");
        for (Map.Entry<String, JsonNode> e : v.get("model").properties()) {
            if (e.getKey().equals("merges")) { // the older "a b" form
                ArrayNode legacy = Handmade.JSON.createArrayNode();
                model.get("merges").forEach(m -> legacy.add(m.get(0).asText() + " " + m.get(1).asText()));
                model.set("merges", legacy);
            } else {
                model.set(e.getKey(), e.getValue());
            }
        }
        return tree;
    }

    static SentencePieceBpe variant(String name) {
        return assertInstanceOf(SentencePieceBpe.class, TokenizerJson.parse(variantTree(name).toString(), name + ".json"));
    }

    @Test
    void everyVariantEncodesAndDecodesEveryTextAsHuggingFaceDoes() {
        JsonNode texts = FIXTURES.get("texts");
        int checked = 0;
        for (Map.Entry<String, JsonNode> v : FIXTURES.get("variants").properties()) {
            SentencePieceBpe t = variant(v.getKey());
            for (int i = 0; i < texts.size(); i++) {
                String text = texts.get(i).asText(), where = v.getKey() + ": " + text;
                int[] ids = ints(v.getValue().get("ids").get(i));
                assertArrayEquals(ids, t.encode(text), where);
                assertArrayEquals(ints(v.getValue().get("with_specials").get(i)), t.encode(text, true), where);
                assertEquals(v.getValue().get("decoded").get(i).asText(), t.decode(ids), where);
                assertEquals(v.getValue().get("decoded_skip").get(i).asText(), t.decode(ids, true), where);
                assertEquals(t.decode(ids), streamed(t, ids), where);
                checked++;
            }
            for (JsonNode c : v.getValue().get("decodes")) {
                int[] ids = ints(c.get("ids"));
                assertEquals(c.get("text").asText(), t.decode(ids), v.getKey() + ": " + c);
                assertEquals(c.get("skip_special").asText(), t.decode(ids, true), v.getKey() + ": " + c);
                assertEquals(c.get("text").asText(), streamed(t, ids), v.getKey() + " streamed: " + c);
            }
        }
        assertTrue(checked >= 150, "only " + checked + " cases");
    }

    static String streamed(Tokenizer t, int[] ids) {
        StreamingDecoder d = new StreamingDecoder(t);
        StringBuilder out = new StringBuilder();
        for (int id : ids) out.append(d.push(id));
        return out.append(d.finish()).toString();
    }

    @Test
    void aFileHuggingFaceWroteReadsAsTheOneItRead() {
        SentencePieceBpe ours = variant("llama");
        var theirs = assertInstanceOf(SentencePieceBpe.class,
                TokenizerJson.parse(resource("sp_hf_saved.tokenizer.json"), "sp_hf_saved.tokenizer.json"));
        assertEquals(TokenizerJson.toJson(ours), TokenizerJson.toJson(theirs));
    }

    /** Writing and reading back keeps every variant's behaviour on every text. */
    @Test
    void writeThenReadKeepsBehaviour(@TempDir Path dir) {
        JsonNode texts = FIXTURES.get("texts");
        for (Map.Entry<String, JsonNode> v : FIXTURES.get("variants").properties()) {
            SentencePieceBpe t = variant(v.getKey());
            Path file = dir.resolve(v.getKey() + ".json");
            TokenizerJson.write(t, file);
            var back = assertInstanceOf(SentencePieceBpe.class, TokenizerJson.read(file));
            assertEquals(TokenizerJson.toJson(t), TokenizerJson.toJson(back), v.getKey());
            for (int i = 0; i < texts.size(); i++) {
                String text = texts.get(i).asText();
                int[] ids = ints(v.getValue().get("ids").get(i));
                assertArrayEquals(ids, back.encode(text), v.getKey() + ": " + text);
                assertArrayEquals(t.encode(text, true), back.encode(text, true), v.getKey() + ": " + text);
                assertEquals(t.decode(ids, true), back.decode(ids, true), v.getKey() + ": " + text);
            }
        }
    }
}
