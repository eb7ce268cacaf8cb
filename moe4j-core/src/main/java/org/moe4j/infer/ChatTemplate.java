package org.moe4j.infer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.gguf.GgufFile;
import org.moe4j.io.gguf.GgufValue;
import org.moe4j.io.gguf.GgufValueType;

/**
 * Turns a chat conversation into the prompt text a model was trained on: the model's own Jinja chat template
 * (Hugging Face {@code chat_template}) rendered as transformers renders it, or {@link #PLAIN} for a model without
 * one. Variables passed to the template: {@code messages} (role/content maps), {@code bos_token},
 * {@code eos_token}, {@code add_generation_prompt}, {@code tools} (none), plus any extras given.
 */
public final class ChatTemplate {
    /**
     * The documented default for models without a chat template: each message as {@code <|role|>}, a newline,
     * the content and a newline; with a generation prompt, a final {@code <|assistant|>} and newline.
     */
    public static final String PLAIN = "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + "
            + "message['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

    private final JinjaTemplate template;
    private final String bosToken;
    private final String eosToken;
    private final boolean isDefault;

    private ChatTemplate(JinjaTemplate template, String bosToken, String eosToken, boolean isDefault) {
        this.template = template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.isDefault = isDefault;
    }

    /** A model's template with its bos/eos token strings (empty when the model has none). */
    public static ChatTemplate of(String source, String bosToken, String eosToken) {
        return new ChatTemplate(JinjaTemplate.parse(source), nonNull(bosToken), nonNull(eosToken), false);
    }

    /** The plain default ({@link #PLAIN}) with these bos/eos strings. */
    public static ChatTemplate plain(String bosToken, String eosToken) {
        return new ChatTemplate(JinjaTemplate.parse(PLAIN), nonNull(bosToken), nonNull(eosToken), true);
    }

    private static String nonNull(String s) {
        return s == null ? "" : s;
    }

    /** The prompt for {@code messages}; with {@code addGenerationPrompt}, ending where the assistant's reply starts. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /** As {@link #render(List, boolean)} with extra template variables (e.g. {@code enable_thinking}). */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> extra) {
        List<Object> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> vars = new LinkedHashMap<>(extra);
        vars.put("messages", msgs);
        vars.put("bos_token", bosToken);
        vars.put("eos_token", eosToken);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.putIfAbsent("tools", null);
        return template.render(vars);
    }

    /** Whether this is the plain default rather than the model's own template. */
    public boolean isDefault() {
        return isDefault;
    }

    /** The template text. */
    public String source() {
        return template.source();
    }

    public String bosToken() {
        return bosToken;
    }

    public String eosToken() {
        return eosToken;
    }

    /** GGUF's metadata key for the chat template, as llama.cpp's converter writes it. */
    public static final String GGUF_KEY = "tokenizer.chat_template";

    /**
     * The chat template of the model at {@code path}, as {@link ModelLoader} takes it: a directory's
     * tokenizer_config.json ({@link #load}), a GGUF file's {@value #GGUF_KEY} metadata with its bos/eos token
     * strings, else the plain default.
     */
    public static ChatTemplate forModel(Path path) {
        if (Files.isDirectory(path)) return load(path);
        if (!path.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gguf")) return plain("", "");
        try (GgufFile gguf = GgufFile.open(path)) {
            GgufValue source = gguf.value(GGUF_KEY);
            if (source == null) return plain("", "");
            if (source.type() != GgufValueType.STRING) {
                throw new Moe4jException(path + ": metadata " + GGUF_KEY + " is a " + source.type() + ", not a string");
            }
            try {
                return of(source.asString(), ggufToken(gguf, "tokenizer.ggml.bos_token_id"),
                        ggufToken(gguf, "tokenizer.ggml.eos_token_id"));
            } catch (TemplateException e) {
                throw new Moe4jException(path + ": " + GGUF_KEY + ": " + e.getMessage(), e);
            }
        }
    }

    /** The text of the token whose id the metadata key holds, or "" when the file does not say. */
    private static String ggufToken(GgufFile gguf, String idKey) {
        GgufValue id = gguf.value(idKey);
        GgufValue tokens = gguf.value("tokenizer.ggml.tokens");
        if (id == null || !id.type().isInteger() || tokens == null || tokens.type() != GgufValueType.ARRAY
                || tokens.asArray().elementType() != GgufValueType.STRING) {
            return "";
        }
        String[] texts = tokens.asArray().strings();
        long i = id.asLong();
        return i >= 0 && i < texts.length ? texts[(int) i] : "";
    }

    /**
     * The chat template of a Hugging Face model directory: {@code chat_template} in tokenizer_config.json (a
     * string, or a list of {name, template} entries of which "default" is taken), with its bos/eos tokens. A
     * directory without the file or the field gets {@link #plain} with whatever bos/eos the file names.
     */
    public static ChatTemplate load(Path modelDir) {
        Path file = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(file)) return plain("", "");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new Moe4jException("chat template: cannot read " + file + ": " + e.getMessage()
                    + "; fix or remove the file", e);
        }
        if (root == null || !root.isObject()) {
            throw new Moe4jException("chat template: " + file + " is not a JSON object; fix or remove the file");
        }
        String bos = token(root.get("bos_token"));
        String eos = token(root.get("eos_token"));
        JsonNode t = root.get("chat_template");
        if (t == null || t.isNull()) return plain(bos, eos);
        String source = null;
        if (t.isTextual()) {
            source = t.asText();
        } else if (t.isArray()) {
            for (JsonNode entry : t) {
                if ("default".equals(entry.path("name").asText()) && entry.path("template").isTextual()) {
                    source = entry.get("template").asText();
                }
            }
            if (source == null) {
                throw new Moe4jException("chat template: " + file + " lists named chat templates but none named "
                        + "\"default\"; add one or give chat_template as a string");
            }
        } else {
            throw new Moe4jException("chat template: chat_template in " + file + " must be a string or a list of "
                    + "{name, template} objects, not " + t.getNodeType());
        }
        try {
            return of(source, bos, eos);
        } catch (TemplateException e) {
            throw new Moe4jException(file + ": " + e.getMessage()
                    + " (give the model a simpler chat_template, or remove it to use the plain default)", e);
        }
    }

    /** A token as tokenizer_config.json spells it: a string, or an AddedToken object with "content". */
    private static String token(JsonNode n) {
        if (n == null || n.isNull()) return "";
        if (n.isTextual()) return n.asText();
        return n.path("content").asText("");
    }
}
