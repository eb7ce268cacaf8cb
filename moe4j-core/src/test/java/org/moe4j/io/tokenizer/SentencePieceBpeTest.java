package org.moe4j.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.io.DataFormatException;

/** Round trips, streaming over byte-fallback tokens, and refused files for {@link SentencePieceBpe}. */
class SentencePieceBpeTest {
    private static final SentencePieceBpe LLAMA = SentencePieceGoldenTest.variant("llama");

    /**
     * Llama's decoder strips the one leading space its normalizer put there, so texts come back unchanged; the
     * non-special added tokens are left out, as Hugging Face puts a "▁" after one of them that the text lacked.
     */
    @Test
    void textsRoundTrip() {
        ObjectNode tree = SentencePieceGoldenTest.variantTree("llama");
        ((ArrayNode) tree.get("added_tokens")).remove(7);
        ((ArrayNode) tree.get("added_tokens")).remove(6);
        Tokenizer plain = TokenizerJson.parse(tree.toString(), "plain.json");
        for (String s : RoundTrips.TEXTS) {
            assertEquals(s, plain.decode(plain.encodeOrdinary(s)), () -> "round trip of " + s);
            assertEquals(s, plain.decode(plain.encode(s, true), true), () -> "round trip with bos of " + s);
        }
        int[] cps = "ab Z9 \t\n'sé€😀\u3000,.-ﾟ𝔸".codePoints().toArray();
        Rng rng = new Rng(5);
        for (int trial = 0; trial < 300; trial++) {
            StringBuilder b = new StringBuilder();
            int n = rng.nextInt(30);
            for (int i = 0; i < n; i++) b.appendCodePoint(cps[rng.nextInt(cps.length)]);
            String s = b.toString();
            assertEquals(s, plain.decode(plain.encode(s)), () -> "round trip of " + s);
        }
    }

    @Test
    void bosComesFromTheTemplateAndRolesFromTheNames() {
        assertEquals(1, LLAMA.bosId().getAsInt());
        assertEquals(2, LLAMA.eosId().getAsInt());
        assertEquals(1, LLAMA.encode("x", true)[0]);
        assertEquals(LLAMA.encode("x").length + 1, LLAMA.encode("x", true).length);
        assertTrue(LLAMA.isSpecial(1) && !LLAMA.isSpecial(LLAMA.tokenId("God").getAsInt()));
        assertEquals(" the", new String(LLAMA.tokenBytes(LLAMA.tokenId("▁the").getAsInt()), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(1, LLAMA.tokenBytes(LLAMA.tokenId("<0xE2>").getAsInt()).length);
    }

    /** Random ids, byte tokens split and invalid among them: the streamed pieces join to the whole decode. */
    @Test
    void streamingEqualsTheWholeDecodeOnAnyIds() {
        Rng rng = new Rng(9);
        int[] interesting = {3 + 0xE2, 3 + 0x82, 3 + 0xAC, 3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80, 3 + 0xFF, 3 + 0x20,
                3 + 0x41, 1, 2, LLAMA.tokenId("▁").getAsInt(), LLAMA.tokenId("▁the").getAsInt(), LLAMA.tokenId("t").getAsInt()};
        for (String name : new String[] {"llama", "metaspace_first", "metaspace_never_split"}) {
            SentencePieceBpe t = SentencePieceGoldenTest.variant(name);
            for (int trial = 0; trial < 1500; trial++) {
                int[] ids = new int[rng.nextInt(10)];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = rng.nextInt(3) == 0 ? rng.nextInt(t.vocabSize()) : interesting[rng.nextInt(interesting.length)];
                }
                assertEquals(t.decode(ids), SentencePieceGoldenTest.streamed(t, ids),
                        () -> name + ": " + java.util.Arrays.toString(ids));
            }
        }
    }

    @Test
    void aCharacterSplitOverByteTokensComesOutWhenTheRunEnds() {
        StreamingDecoder d = new StreamingDecoder(LLAMA);
        int the = LLAMA.tokenId("▁the").getAsInt();
        assertEquals("the", d.push(the)); // the leading space is cut once
        assertEquals("", d.push(LLAMA.tokenId("<0xE2>").getAsInt()));
        assertEquals("", d.push(LLAMA.tokenId("<0x82>").getAsInt()));
        assertEquals("", d.push(LLAMA.tokenId("<0xAC>").getAsInt()));
        assertEquals("€ the", d.push(the));
        assertEquals("", d.push(LLAMA.tokenId("<0xE2>").getAsInt()));
        assertEquals("\uFFFD", d.finish()); // an unfinished run: one U+FFFD per byte, as Hugging Face gives
    }

    // ---- refused files -----------------------------------------------------------------------------------------

    private static DataFormatException bad(Consumer<ObjectNode> breakIt, String field) {
        ObjectNode tree = SentencePieceGoldenTest.variantTree("llama");
        breakIt.accept(tree);
        DataFormatException e = assertThrows(DataFormatException.class, () -> TokenizerJson.parse(tree.toString(), "sp.json"));
        assertTrue(e.getMessage().startsWith("sp.json: "), e.getMessage());
        assertTrue(e.field().contains(field), () -> "field " + e.field() + " does not name " + field + ": " + e.getMessage());
        return e;
    }

    private static ObjectNode model(ObjectNode t) {
        return (ObjectNode) t.get("model");
    }

    @Test
    void unsupportedComponentsAreNamed() {
        DataFormatException e = bad(t -> model(t).put("type", "Unigram"), "model.type");
        assertTrue(e.getMessage().contains("Unigram"), e.getMessage());
        bad(t -> model(t).put("type", "WordPiece"), "model.type");
        e = bad(t -> t.putObject("normalizer").put("type", "Lowercase"), "normalizer.type");
        assertTrue(e.getMessage().contains("Lowercase"), e.getMessage());
        bad(t -> ((ArrayNode) t.get("normalizer").get("normalizers")).addObject().put("type", "Precompiled"),
                "normalizer.normalizers[2].type");
        bad(t -> ((ObjectNode) t.get("normalizer").get("normalizers").get(1)).putObject("pattern").put("Regex", " +"),
                "normalizer.normalizers[1].pattern");
        bad(t -> t.putObject("pre_tokenizer").put("type", "Whitespace"), "pre_tokenizer.type");
        bad(t -> t.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "ab"), "pre_tokenizer.replacement");
        bad(t -> t.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "▁").put("prepend_scheme", "sometimes"),
                "pre_tokenizer.prepend_scheme");
        bad(t -> t.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "▁").put("add_prefix_space", false),
                "pre_tokenizer.add_prefix_space");
        bad(t -> t.putObject("decoder").put("type", "WordPiece"), "decoder.type");
        bad(t -> t.remove("decoder"), "decoder");
        bad(t -> ((ArrayNode) t.get("decoder").get("decoders")).insertObject(0).put("type", "Fuse"), "decoder.decoders");
        bad(t -> ((ObjectNode) t.get("decoder").get("decoders").get(3)).put("stop", 1), "decoder.decoders");
        bad(t -> t.putObject("post_processor").put("type", "BertProcessing"), "post_processor.type");
        bad(t -> ((ObjectNode) t.get("post_processor")).remove("special_tokens"), "post_processor.special_tokens");
        bad(t -> ((ArrayNode) t.get("post_processor").get("single")).remove(1), "post_processor.single");
        bad(t -> model(t).put("unk_token", "<nothing>"), "model.unk_token");
        bad(t -> model(t).put("dropout", 0.1), "model.dropout");
        bad(t -> model(t).put("continuing_subword_prefix", "##"), "model.continuing_subword_prefix");
        bad(t -> ((ArrayNode) model(t).get("merges")).insertArray(0).add("▁").add("zq"), "model.merges[0]");
        bad(t -> ((ObjectNode) t.get("added_tokens").get(3)).put("lstrip", "yes"), "added_tokens[3].lstrip");
        bad(t -> ((ObjectNode) t.get("added_tokens").get(3)).put("id", 9999), "added_tokens[3].id");
    }

    @Test
    void aByteLevelTokenizerCannotBeWrittenAsSentencePieceNorAByteTokenizerAtAll() {
        var e = assertThrows(org.moe4j.common.Moe4jException.class, () -> TokenizerJson.toJson(new ByteTokenizer()));
        assertTrue(e.getMessage().contains("ByteTokenizer"), e.getMessage());
    }
}
