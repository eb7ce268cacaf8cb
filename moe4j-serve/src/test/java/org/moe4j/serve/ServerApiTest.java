package org.moe4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.moe4j.infer.ChatMessage;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.moe4j.infer.LoadedModel;

/** The endpoints' shapes, parameters and errors, over HTTP against a tiny random model. */
class ServerApiTest {
    static final String MODEL = "tiny-test";
    static Moe4jServer server;

    @BeforeAll
    static void start() {
        server = Moe4jServer.start(ServerConfig.local(MODEL), () -> TinyModels.tiny(256, 7));
        server.awaitLoaded();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static void assertError(HttpResponse<String> r, int status, String param) {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode e = Http.json(r).get("error");
        assertNotNull(e, r.body());
        assertTrue(e.get("message").isTextual() && !e.get("message").textValue().isEmpty(), r.body());
        assertTrue(e.get("type").isTextual(), r.body());
        assertTrue(e.has("param") && e.has("code"), r.body());
        if (param != null) assertEquals(param, e.get("param").asText(), r.body());
    }

    @Test
    void healthIs503WhileTheModelLoadsThen200() {
        CountDownLatch release = new CountDownLatch(1);
        try (Moe4jServer s = Moe4jServer.start(ServerConfig.local("slow"), () -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return TinyModels.tiny(64, 1);
        })) {
            HttpResponse<String> h = Http.get(s, "/health");
            assertEquals(503, h.statusCode());
            assertEquals("loading", Http.json(h).get("status").asText());
            assertError(Http.post(s, "/v1/completions", "{\"prompt\":\"hi\"}"), 503, null);
            release.countDown();
            assertTrue(Http.eventually(10_000, () -> Http.get(s, "/health").statusCode() == 200));
            assertEquals(200, Http.post(s, "/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":2}").statusCode());
            assertEquals(1, s.metrics().outcome(Metrics.Outcome.UNAVAILABLE));
        }
    }

    @Test
    void aModelThatFailsToLoadIsReported() {
        try (Moe4jServer s = Moe4jServer.start(ServerConfig.local("bad"), () -> {
            throw new org.moe4j.common.Moe4jException("model: /nowhere does not exist");
        })) {
            org.moe4j.common.Moe4jException e = org.junit.jupiter.api.Assertions.assertThrows(
                    org.moe4j.common.Moe4jException.class, s::awaitLoaded);
            assertTrue(e.getMessage().contains("/nowhere"), e.getMessage());
            HttpResponse<String> h = Http.get(s, "/health");
            assertEquals(503, h.statusCode());
            assertTrue(h.body().contains("failed") && h.body().contains("/nowhere"), h.body());
        }
    }

    @Test
    void listsTheModel() {
        JsonNode list = Http.json(Http.get(server, "/v1/models"));
        assertEquals("list", list.get("object").asText());
        assertEquals(MODEL, list.get("data").get(0).get("id").asText());
        assertEquals("model", list.get("data").get(0).get("object").asText());
        assertEquals(MODEL, Http.json(Http.get(server, "/v1/models/" + MODEL)).get("id").asText());
        assertError(Http.get(server, "/v1/models/gpt-4"), 404, "model");
    }

    @Test
    void completionHasOpenAisShapeAndUsage() {
        JsonNode c = Http.json(Http.post(server, "/v1/completions", """
                {"model":"tiny-test","prompt":"Hello","max_tokens":5,"ignore_eos":true,"temperature":0,
                 "return_token_ids":true}"""));
        assertEquals("text_completion", c.get("object").asText());
        assertTrue(c.get("id").asText().startsWith("cmpl-"));
        assertEquals(MODEL, c.get("model").asText());
        JsonNode choice = c.get("choices").get(0);
        assertEquals(0, choice.get("index").asInt());
        assertTrue(choice.get("text").isTextual());
        assertEquals("length", choice.get("finish_reason").asText());
        assertEquals(5, choice.get("token_ids").size());
        assertEquals(5, c.get("usage").get("prompt_tokens").asInt());
        assertEquals(5, c.get("usage").get("completion_tokens").asInt());
        assertEquals(10, c.get("usage").get("total_tokens").asInt());
        // A prompt of token ids gives the same as its text (the byte tokenizer: ids are the bytes).
        JsonNode ids = Http.json(Http.post(server, "/v1/completions", """
                {"prompt":[72,101,108,108,111],"max_tokens":5,"ignore_eos":true,"temperature":0,"return_token_ids":true}"""));
        assertEquals(choice.get("token_ids"), ids.get("choices").get(0).get("token_ids"));
        // The default is 16 tokens, as OpenAI's.
        JsonNode d = Http.json(Http.post(server, "/v1/completions", "{\"prompt\":\"Hi\",\"ignore_eos\":true,\"seed\":3}"));
        assertEquals(16, d.get("usage").get("completion_tokens").asInt());
    }

    @Test
    void chatStreamingAddsUpToTheNonStreamingAnswer() {
        String req = """
                {"model":"tiny-test","messages":[{"role":"system","content":"Be brief."},
                 {"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}],
                 "max_tokens":12,"temperature":0.8,"seed":42,"ignore_eos":true%s}""";
        JsonNode whole = Http.json(Http.post(server, "/v1/chat/completions", req.formatted("")));
        assertEquals("chat.completion", whole.get("object").asText());
        JsonNode message = whole.get("choices").get(0).get("message");
        assertEquals("assistant", message.get("role").asText());
        String prompt = ChatFormatter.plain().render(List.of(new ChatMessage("system", "Be brief."),
                new ChatMessage("user", "Hi there")));
        assertEquals(prompt.getBytes(StandardCharsets.UTF_8).length, whole.get("usage").get("prompt_tokens").asInt());

        HttpResponse<String> r = Http.post(server, "/v1/chat/completions",
                req.formatted(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<JsonNode> events = Http.events(r.body());
        assertEquals("assistant", events.get(0).get("choices").get(0).get("delta").get("role").asText());
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (JsonNode e : events) {
            assertEquals("chat.completion.chunk", e.get("object").asText());
            if (e.get("choices").isEmpty()) continue;
            JsonNode choice = e.get("choices").get(0);
            if (choice.get("delta").has("content")) text.append(choice.get("delta").get("content").asText());
            if (!choice.get("finish_reason").isNull()) finish = choice.get("finish_reason").asText();
        }
        assertEquals(message.get("content").asText(), text.toString());
        assertEquals("length", finish);
        JsonNode last = events.getLast();
        assertTrue(last.get("choices").isEmpty());
        assertEquals(whole.get("usage"), last.get("usage"));
    }

    @Test
    void completionStreamingWithoutUsageOption() {
        String req = "{\"prompt\":\"abc\",\"max_tokens\":6,\"temperature\":0,\"ignore_eos\":true%s}";
        String text = Http.json(Http.post(server, "/v1/completions", req.formatted(""))).get("choices").get(0)
                .get("text").asText();
        List<JsonNode> events = Http.events(Http.post(server, "/v1/completions", req.formatted(",\"stream\":true")).body());
        StringBuilder sb = new StringBuilder();
        for (JsonNode e : events) {
            assertEquals("text_completion", e.get("object").asText());
            assertFalse(e.has("usage"));
            sb.append(e.get("choices").get(0).get("text").asText());
        }
        assertEquals(text, sb.toString());
        assertEquals("length", events.getLast().get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void stopStringsCutTheText() {
        String req = "{\"prompt\":\"The \",\"max_tokens\":40,\"temperature\":0,\"ignore_eos\":true%s}";
        String text = Http.json(Http.post(server, "/v1/completions", req.formatted(""))).get("choices").get(0)
                .get("text").asText();
        String stop = null;
        for (int i = 1; i + 2 <= text.length() && stop == null; i++) {
            String s = text.substring(i, i + 2);
            if (!s.contains("\uFFFD") && Character.isBmpCodePoint(s.codePointAt(0)) && !Character.isSurrogate(s.charAt(1))) stop = s;
        }
        assertNotNull(stop, "no usable stop in " + text);
        JsonNode c = Http.json(Http.post(server, "/v1/completions",
                req.formatted(",\"stop\":[" + Moe4jServer.JSON.valueToTree(stop) + "]")));
        assertEquals(text.substring(0, text.indexOf(stop)), c.get("choices").get(0).get("text").asText());
        assertEquals("stop", c.get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void badRequestsGetOpenAiErrors() {
        String p = "/v1/completions", chat = "/v1/chat/completions";
        assertError(Http.post(server, p, "{\"prompt\":"), 400, null);
        assertError(Http.post(server, p, "[1,2]"), 400, null);
        assertError(Http.post(server, p, ""), 400, null);
        assertError(Http.post(server, p, "{\"prompt\":\"a\"} trailing"), 400, null);
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"prompt\":\"b\"}"), 400, null);
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"max_tokens\":-1}"), 400, "max_tokens");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"max_tokens\":1.5}"), 400, "max_tokens");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"max_tokens\":1000}"), 400, "max_tokens");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"temperature\":NaN}"), 400, null);
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"temperature\":1e999}"), 400, "temperature");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"temperature\":\"hot\"}"), 400, "temperature");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"top_p\":0}"), 400, "top_p");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"top_k\":-2}"), 400, "top_k");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"min_p\":2}"), 400, "min_p");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"seed\":\"x\"}"), 400, "seed");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"n\":2}"), 400, "n");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}"), 400, "stop");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"stop\":\"\"}"), 400, "stop");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"stream\":\"yes\"}"), 400, "stream");
        assertError(Http.post(server, p, "{\"prompt\":[1,999999]}"), 400, "prompt");
        assertError(Http.post(server, p, "{\"prompt\":\"" + "x".repeat(300) + "\"}"), 400, "prompt");
        assertError(Http.post(server, p, "{\"prompt\":[\"a\",\"b\"]}"), 400, "prompt");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"model\":\"gpt-4\"}"), 404, "model");
        assertError(Http.post(server, p, "{\"prompt\":\"a\",\"echo\":true}"), 400, "echo");
        assertError(Http.post(server, chat, "{\"messages\":[]}"), 400, "messages");
        assertError(Http.post(server, chat, "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}"), 400, "messages[0].role");
        assertError(Http.post(server, chat, "{\"messages\":[{\"role\":\"user\",\"content\":7}]}"), 400, "messages[0].content");
        assertError(Http.post(server, chat, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}"),
                400, "messages[0].content[0].type");
        assertError(Http.post(server, chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{}]}"), 400, "tools");
        assertError(Http.get(server, p), 405, null);
        assertEquals("POST", Http.get(server, p).headers().firstValue("Allow").orElse(""));
        assertError(Http.post(server, "/v1/models", "{}"), 405, null);
        assertError(Http.get(server, "/v2/nothing"), 404, null);
        assertError(Http.send(server, "POST", p, "text/plain", "{\"prompt\":\"a\"}".getBytes(StandardCharsets.UTF_8)), 415, null);
        byte[] big = ("{\"prompt\":\"" + "x".repeat(ServerConfig.DEFAULT_MAX_BODY) + "\"}").getBytes(StandardCharsets.UTF_8);
        assertError(Http.send(server, "POST", p, "application/json", big), 413, null);
    }

    @Test
    void anApiKeyGuardsEverythingButHealth() {
        try (Moe4jServer s = Moe4jServer.start(ServerConfig.local("k").withApiKey("s3cret"), () -> TinyModels.tiny(64, 1))) {
            s.awaitLoaded();
            assertEquals(200, Http.get(s, "/health").statusCode());
            assertError(Http.get(s, "/v1/models"), 401, null);
            assertError(Http.get(s, "/v1/models", "Authorization", "Bearer s3cre"), 401, null);
            assertError(Http.get(s, "/v1/models", "Authorization", "Bearer s3cret0"), 401, null);
            assertError(Http.get(s, "/metrics"), 401, null);
            assertError(Http.get(s, "/nowhere"), 401, null);
            assertEquals(200, Http.get(s, "/v1/models", "Authorization", "Bearer s3cret").statusCode());
            assertEquals(200, Http.post(s, "/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":1}",
                    "Authorization", "bearer s3cret").statusCode());
        }
    }

    @Test
    void metricsCountRequestsTokensAndExpertLoad() {
        LoadedModel model = TinyModels.tiny(128, 3);
        try (Moe4jServer s = Moe4jServer.start(ServerConfig.local("m"), () -> model)) {
            s.awaitLoaded();
            long fed = 0;
            for (int i = 0; i < 3; i++) {
                JsonNode u = Http.json(Http.post(s, "/v1/completions", "{\"prompt\":\"abc" + i
                        + "\",\"max_tokens\":" + (3 + i) + ",\"ignore_eos\":true}")).get("usage");
                // Every prompt token and every generated token but the last went through the model.
                fed += u.get("prompt_tokens").asLong() + u.get("completion_tokens").asLong() - 1;
            }
            assertError(Http.post(s, "/v1/completions", "{\"prompt\":\"a\",\"n\":3}"), 400, "n");
            // The gauges are the scheduler's, set after the step that answered the last request: wait for them.
            long until = System.nanoTime() + 5_000_000_000L;
            while ((s.metrics().runningBatch() != 0 || s.metrics().queueDepth() != 0) && System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            String text = Http.get(s, "/metrics").body();
            assertTrue(text.contains("moe4j_requests_total{outcome=\"completed\"} 3\n"), text);
            assertTrue(text.contains("moe4j_requests_total{outcome=\"invalid\"} 1\n"), text);
            assertTrue(text.contains("moe4j_requests_accepted_total 3\n"), text);
            assertTrue(text.contains("moe4j_generated_tokens_total 12\n"), text);
            assertTrue(text.contains("moe4j_request_duration_seconds_count 3\n"), text);
            assertTrue(text.contains("moe4j_queue_depth 0\n") && text.contains("moe4j_running_batch_size 0\n"), text);
            var load = s.metrics().expertLoad();
            assertEquals(model.model().config().layers(), load.size(), load.keySet().toString());
            int topK = model.model().config().topK();
            for (long[] counts : load.values()) assertEquals(fed * topK, java.util.Arrays.stream(counts).sum());
            assertTrue(text.contains("moe4j_expert_assignments_total{layer=\""), text);
        }
    }
}
