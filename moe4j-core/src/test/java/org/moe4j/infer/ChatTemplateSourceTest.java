package org.moe4j.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.io.gguf.GgufArray;
import org.moe4j.io.gguf.GgufValue;
import org.moe4j.io.gguf.GgufWriter;

/** Where {@link ChatTemplate#forModel} finds a model's template: a directory's tokenizer_config.json, GGUF metadata. */
class ChatTemplateSourceTest {
    private static final List<ChatMessage> CHAT = List.of(new ChatMessage("user", "Hi"));
    private static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}"
            + "{{ eos_token }}{% endfor %}";

    @Test
    void aGgufFileCarriesItsTemplateAndTheTextOfItsBosAndEosTokens(@TempDir Path dir) {
        Path file = dir.resolve("m.gguf");
        new GgufWriter().put(ChatTemplate.GGUF_KEY, GgufValue.ofString(TEMPLATE))
                .put("tokenizer.ggml.tokens", GgufValue.ofArray(GgufArray.ofStrings("<unk>", "<s>", "</s>")))
                .put("tokenizer.ggml.bos_token_id", GgufValue.ofUint32(1))
                .put("tokenizer.ggml.eos_token_id", GgufValue.ofUint32(2)).write(file);
        ChatTemplate t = ChatTemplate.forModel(file);
        assertEquals("<s>[user]Hi</s>", t.render(CHAT, true));

        Path none = dir.resolve("plain.gguf");
        new GgufWriter().put("general.name", GgufValue.ofString("x")).write(none);
        assertTrue(ChatTemplate.forModel(none).isDefault());
    }

    @Test
    void aDirectoryUsesItsTokenizerConfigAndAnythingElseThePlainTemplate(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"chat_template\": \"" + TEMPLATE.replace("\"", "\\\"") + "\", \"bos_token\": \"<b>\", \"eos_token\": \"<e>\"}");
        assertEquals("<b>[user]Hi<e>", ChatTemplate.forModel(dir).render(CHAT, true));
        assertEquals("<|user|>\nHi\n<|assistant|>\n", ChatTemplate.forModel(dir.resolve("model.bin")).render(CHAT, true));
    }
}
