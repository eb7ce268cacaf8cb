package org.moe4j.io.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Small tokenizer.json trees built by hand, for hand-checked encodings and for breaking on purpose. */
final class Handmade {
    private Handmade() {}

    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A byte-level BPE tokenizer.json: the 256 byte tokens (id = byte), then one token per merge ({@code "a b"},
     * in byte-level characters) in order, then {@code <|eos|>} as a special added token.
     */
    static ObjectNode tree(String... merges) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        ObjectNode vocab = JSON.createObjectNode();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevel.charOf(b)), b);
        ArrayNode mergeList = JSON.createArrayNode();
        for (String m : merges) {
            String[] p = m.split(" ");
            if (!vocab.has(p[0] + p[1])) vocab.put(p[0] + p[1], vocab.size());
            mergeList.addArray().add(p[0]).add(p[1]);
        }
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", vocab.size()).put("content", "<|eos|>").put("special", true);
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", true);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.set("vocab", vocab);
        model.set("merges", mergeList);
        return root;
    }

    static BpeTokenizer tokenizer(String... merges) {
        return (BpeTokenizer) TokenizerJson.parse(tree(merges).toString(), "handmade.json");
    }
}
