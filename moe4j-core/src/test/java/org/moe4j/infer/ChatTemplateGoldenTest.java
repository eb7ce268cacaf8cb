package org.moe4j.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Real chat templates (Mixtral/Mistral, Qwen2.5, Qwen3, DeepSeek-MoE, Llama-2, Tulu/OLMoE, Zephyr, Gemma, ...)
 * rendered by this engine must equal what Debian's python3-jinja2 renders with transformers' settings
 * (fixtures from tools/golden/make_chat_fixtures.py), including the messages of raise_exception.
 */
class ChatTemplateGoldenTest {
    private static String resource(String name) throws IOException {
        try (InputStream in = ChatTemplateGoldenTest.class.getResourceAsStream("/chat/" + name)) {
            if (in == null) throw new IOException("missing test resource chat/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static Stream<Arguments> cases() throws IOException {
        JsonNode root = new ObjectMapper().readTree(resource("cases.json"));
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            String label = c.get("template").asText() + " / " + c.get("conversation").asText()
                    + (c.get("add_generation_prompt").asBoolean() ? " +gen" : "") + (c.get("extra").isEmpty() ? "" : " " + c.get("extra"));
            out.add(Arguments.of(label, c));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesJinja2(String label, JsonNode c) throws IOException {
        ChatTemplate template = ChatTemplate.of(resource(c.get("template").asText()), c.get("bos_token").asText(),
                c.get("eos_token").asText());
        List<ChatMessage> messages = new ArrayList<>();
        for (JsonNode m : c.get("messages")) messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
        Map<String, Object> extra = new LinkedHashMap<>();
        c.get("extra").properties().forEach(e -> extra.put(e.getKey(), e.getValue().isBoolean() ? e.getValue().asBoolean() : e.getValue().asText()));
        boolean gen = c.get("add_generation_prompt").asBoolean();
        if (c.has("error")) {
            TemplateException.Raised e = assertThrows(TemplateException.Raised.class, () -> template.render(messages, gen, extra), label);
            assertEquals(c.get("error").asText(), e.templateMessage(), label);
            assertTrue(e.getMessage().contains("line "), e.getMessage());
        } else {
            assertEquals(c.get("expected").asText(), template.render(messages, gen, extra), label);
        }
    }

    @Test
    void plainConstantIsTheFixture() throws IOException {
        assertEquals(resource("plain.jinja"), ChatTemplate.PLAIN);
    }
}
