package org.moe4j.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.DataFormatException;

class TokenizerJsonTest {
    private static final BpeTokenizer TRAINED =
            BpeTrainer.train(String.join(" ", RoundTrips.TEXTS).repeat(4), 640, Tokenizer.DEFAULT_SPECIALS);

    private static void assertSame(BpeTokenizer a, BpeTokenizer b) {
        assertEquals(a.modelVocab(), b.modelVocab());
        assertEquals(a.merges().stream().map(List::of).toList(), b.merges().stream().map(List::of).toList());
        assertEquals(a.addedTokens(), b.addedTokens());
        assertEquals(a.roles(), b.roles());
        for (String s : RoundTrips.TEXTS) assertArrayEquals(a.encode(s), b.encode(s), s);
    }

    @Test
    void writeThenReadGivesTheSameTokenizer(@TempDir Path dir) {
        Path file = dir.resolve("out/tokenizer.json");
        TokenizerJson.write(TRAINED, file);
        BpeTokenizer back = (BpeTokenizer) TokenizerJson.read(file);
        assertSame(TRAINED, back);
        assertEquals(TokenizerJson.toJson(TRAINED), TokenizerJson.toJson(back), "written again, byte for byte");
        assertEquals(List.of(file), list(file.getParent()), "no temporary file is left behind");
        TokenizerJson.write(TRAINED, file); // replacing an existing file works too
    }

    private static List<Path> list(Path dir) {
        try (var s = Files.list(dir)) {
            return s.toList();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void readsMergesWrittenAsStringsOrAsPairs() throws IOException {
        ObjectNode tree = (ObjectNode) Handmade.JSON.readTree(TokenizerJson.toJson(TRAINED));
        ArrayNode legacy = Handmade.JSON.createArrayNode();
        merges(tree).forEach(m -> legacy.add(m.get(0).asText() + " " + m.get(1).asText()));
        model(tree).set("merges", legacy);
        assertSame(TRAINED, (BpeTokenizer) TokenizerJson.parse(tree.toString(), "legacy.json"));
    }

    private static ObjectNode model(ObjectNode root) {
        return (ObjectNode) root.get("model");
    }

    private static ObjectNode vocab(ObjectNode root) {
        return (ObjectNode) model(root).get("vocab");
    }

    private static ArrayNode merges(ObjectNode root) {
        return (ArrayNode) model(root).get("merges");
    }

    private static ArrayNode added(ObjectNode root) {
        return (ArrayNode) root.get("added_tokens");
    }

    @Test
    void qwenStylePreTokenizerAndNormalizerRoundTrip() {
        ObjectNode tree = Handmade.tree("a b");
        tree.putObject("normalizer").put("type", "NFC");
        ObjectNode seq = tree.putObject("pre_tokenizer").put("type", "Sequence");
        var list = seq.putArray("pretokenizers");
        list.addObject().put("type", "Split").put("behavior", "Isolated").put("invert", false)
                .putObject("pattern").put("Regex", "\\p{N}|\\s+|[^\\s\\p{N}]+");
        list.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", false);
        BpeTokenizer t = (BpeTokenizer) TokenizerJson.parse(tree.toString(), "qwen.json");
        assertEquals(Normalizer.Form.NFC, t.normalizer());
        assertEquals(List.of("ab", "1", "2", " ", "x"), t.preTokenizer().split("ab12 x"));
        assertEquals("\u00e9", t.decode(t.encode("e\u0301")), "NFC composes before tokenizing");
        assertSame(t, (BpeTokenizer) TokenizerJson.parse(TokenizerJson.toJson(t), "again.json"));
    }

    // ---- bad files: one typed error naming the file and the field ------------------------------------------------

    private static DataFormatException bad(String json, String field) {
        DataFormatException e = assertThrows(DataFormatException.class, () -> TokenizerJson.parse(json, "bad.json"));
        assertEquals("bad.json", e.file());
        assertTrue(e.field().contains(field), () -> "field " + e.field() + " does not name " + field + ": " + e.getMessage());
        assertTrue(e.getMessage().startsWith("bad.json: "), e.getMessage());
        return e;
    }

    private static DataFormatException bad(Consumer<ObjectNode> breakIt, String field) {
        ObjectNode tree = Handmade.tree("a b", "ab c");
        breakIt.accept(tree);
        return bad(tree.toString(), field);
    }

    @Test
    void brokenJsonIsRefusedWithItsPosition() {
        String good = Handmade.tree("a b").toString();
        bad(good.substring(0, good.length() / 2), "line 1, column");
        bad("", "(root)");
        bad("[1, 2]", "(root)");
        bad(good + " {}", "(root)");
        bad("[".repeat(5000), "line 1, column"); // nesting past Jackson's limit: an error, not a stack overflow
        DataFormatException e = bad("{\"model\": {\"vocab\": {\"a\": 0, \"a\": 1}}}", "line 1");
        assertTrue(e.getMessage().contains("Duplicate"), e.getMessage());
    }

    @Test
    void theModelSectionIsChecked() {
        bad(t -> t.remove("model"), "model");
        bad(t -> model(t).put("type", "WordPiece"), "model.type");
        bad(t -> model(t).put("dropout", 0.1), "model.dropout");
        bad(t -> model(t).put("byte_fallback", true), "model.byte_fallback");
        bad(t -> model(t).put("continuing_subword_prefix", "##"), "model.continuing_subword_prefix");
        bad(t -> model(t).put("ignore_merges", "yes"), "model.ignore_merges");
        bad(t -> model(t).put("vocab", 3), "model.vocab");
        bad(t -> vocab(t).put("a", -1), "model.vocab.a");
        bad(t -> vocab(t).put("a", 1.5), "model.vocab.a");
        bad(t -> vocab(t).put("zz", 98), "model.vocab"); // 98 is already b
        bad(t -> vocab(t).put("zz", Integer.MAX_VALUE), "model.vocab.zz");
        bad(t -> vocab(t).remove("Ā"), "model.vocab"); // byte 0 has no token
        bad(t -> model(t).put("merges", "a b"), "model.merges");
        bad(t -> merges(t).insert(0, "a b c"), "model.merges[0]");
        bad(t -> merges(t).insert(0, 7), "model.merges[0]");
        bad(t -> merges(t).insertArray(0).add(1).add(2), "model.merges[0]");
        bad(t -> merges(t).insertArray(0).add("a").add("q!"), "model.merges[0]");
        bad(t -> merges(t).insertArray(0).add("x").add("y"), "model.merges[0]"); // no xy
        DataFormatException e = bad(t -> merges(t).addArray().add("c").add("d"),
                "model.merges[2]");
        assertTrue(e.getMessage().contains("cd"), e.getMessage());
    }

    @Test
    void theOtherSectionsAreChecked() {
        bad(t -> t.remove("pre_tokenizer"), "pre_tokenizer");
        bad(t -> ((ObjectNode) t.get("pre_tokenizer")).put("type", "Whitespace"), "pre_tokenizer.type");
        bad(t -> ((ObjectNode) t.get("pre_tokenizer")).put("use_regex", false), "pre_tokenizer.use_regex");
        bad(t -> {
            ObjectNode seq = t.putObject("pre_tokenizer").put("type", "Sequence");
            var list = seq.putArray("pretokenizers");
            list.addObject().put("type", "Split").putObject("pattern").put("Regex", "(unclosed");
            list.addObject().put("type", "ByteLevel").put("use_regex", false);
        }, "pre_tokenizer.pretokenizers[0].pattern");
        bad(t -> t.putObject("normalizer").put("type", "Lowercase"), "normalizer.type");
        bad(t -> t.remove("decoder"), "decoder");
        bad(t -> ((ObjectNode) t.get("decoder")).put("type", "Metaspace"), "decoder.type");
        bad(t -> t.putObject("post_processor").put("type", "TemplateProcessing"), "post_processor.type");
        bad(t -> t.put("added_tokens", "<|eos|>"), "added_tokens");
        bad(t -> added(t).addObject().put("id", 259).put("content", ""), "added_tokens[1].content");
        bad(t -> added(t).addObject().put("content", "<x>"), "added_tokens[1].id");
        bad(t -> added(t).addObject().put("id", 300).put("content", "<x>"), "added_tokens[1].id");
        bad(t -> added(t).addObject().put("id", 259).put("content", "<x>").put("lstrip", true),
                "added_tokens[1].lstrip");
        bad(t -> added(t).addObject().put("id", 259).put("content", "<|eos|>"), "added_tokens[1]");
    }

    @Test
    void addedTokensTakeTheIdsHuggingFaceGivesThem() {
        // A token already in the vocabulary keeps its id; others follow the vocabulary in order.
        BpeTokenizer t = Handmade.tokenizer("a b");
        assertEquals(257, t.tokenId("<|eos|>").getAsInt());
        ObjectNode tree = Handmade.tree("a b");
        added(tree).insertObject(0).put("id", 256).put("content", "ab").put("special", false);
        BpeTokenizer u = (BpeTokenizer) TokenizerJson.parse(tree.toString(), "added.json");
        assertArrayEquals(new int[] {256, 257}, u.encode("ab<|eos|>"));
        assertTrue(!u.isSpecial(256) && u.isSpecial(257));
    }

    @Test
    void aMissingFileIsAPlainError(@TempDir Path dir) {
        Moe4jException e = assertThrows(Moe4jException.class, () -> TokenizerJson.read(dir.resolve("none.json")));
        assertTrue(e.getMessage().contains("none.json") && e.getMessage().contains("no such file"), e.getMessage());
        assertFalse(e instanceof DataFormatException, "a missing file is not a malformed one");
    }
}
