package org.moe4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;

/**
 * A client's mistake is never a 5xx: seeded mutations of valid bodies, random bytes, wrong content types, methods
 * and paths; every answer must be below 500 and in OpenAI's error shape, and the server must still be healthy.
 */
class FuzzTest {
    static final int REQUESTS = 1200;
    static final JsonNodeFactory F = JsonNodeFactory.instance;
    static final String[] BASES = {
        "{\"model\":\"fuzz\",\"prompt\":\"Hello\",\"max_tokens\":2,\"temperature\":0.7,\"top_p\":0.9,\"top_k\":5,"
                + "\"min_p\":0.1,\"seed\":1,\"stop\":[\"x\"],\"n\":1,\"stream\":false,\"ignore_eos\":true}",
        "{\"model\":\"fuzz\",\"prompt\":[1,2,3],\"max_tokens\":2,\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
        "{\"model\":\"fuzz\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":"
                + "[{\"type\":\"text\",\"text\":\"hi\"}]}],\"max_tokens\":2,\"temperature\":0,\"stop\":\"\\n\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"name\":\"bob\"}],\"max_completion_tokens\":2,"
                + "\"stream\":true,\"presence_penalty\":0,\"logit_bias\":{},\"user\":\"u\",\"seed\":9}",
    };
    static final String[] PATHS = {"/v1/completions", "/v1/chat/completions", "/v1/completions", "/v1/chat/completions",
        "/v1/models", "/v1/models/fuzz", "/metrics", "/health", "/", "/v1", "/v1/completions/", "/v1/embeddings",
        "/%2e%2e/etc", "/v1/models/%C3%28", "/v1/models/" + "a".repeat(300)};
    static final String[] METHODS = {"GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"};
    static final String[] TYPES = {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
        "application/jsonx", "", "application/json; charset=utf-16", "image/png", "application/vnd.api+json"};

    @Test
    void aThousandMalformedRequestsNeverGetA5xx() throws Exception {
        ServerConfig c = ServerConfig.local("fuzz").withBatch(16, 64).withTimeout(Duration.ofSeconds(20))
                .withMaxBodyBytes(64 * 1024);
        try (Moe4jServer s = Moe4jServer.start(c, () -> TinyModels.tiny(64, 3));
                ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            s.awaitLoaded();
            Rng rng = new Rng(2024);
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < REQUESTS; i++) {
                Rng r = rng.split();
                int id = i;
                results.add(pool.submit(() -> one(s, r, id)));
                if (results.size() % 32 == 0) results.getLast().get(); // keep about 32 in flight
            }
            Map<String, Integer> byStatus = new TreeMap<>();
            List<String> bad = new ArrayList<>();
            for (Future<String> f : results) {
                String outcome = f.get();
                byStatus.merge(outcome.substring(0, 3), 1, Integer::sum);
                if (outcome.charAt(0) == '5' || outcome.contains("NOT-OPENAI-SHAPE")) bad.add(outcome);
            }
            assertTrue(bad.isEmpty(), bad.size() + " bad answers, e.g. " + bad.subList(0, Math.min(5, bad.size())));
            assertTrue(byStatus.getOrDefault("400", 0) > REQUESTS / 3, byStatus.toString());
            assertTrue(byStatus.getOrDefault("200", 0) > 0, byStatus.toString());
            assertEquals(200, Http.get(s, "/health").statusCode());
            Metrics m = s.metrics();
            assertTrue(Http.eventually(10_000, () -> m.acceptedTotal() == m.outcome(Metrics.Outcome.COMPLETED)
                    + m.outcome(Metrics.Outcome.ERROR) + m.outcome(Metrics.Outcome.TIMEOUT)
                    + m.outcome(Metrics.Outcome.CANCELLED)), m.render());
            assertEquals(0, m.outcome(Metrics.Outcome.ERROR));
        }
    }

    /** One fuzzed request; its status, then a note when a 4xx answer is not an OpenAI error object. */
    private static String one(Moe4jServer s, Rng r, int id) {
        String base = BASES[r.nextInt(BASES.length)];
        String path = base.contains("messages") ? "/v1/chat/completions" : "/v1/completions";
        String method = "POST";
        String type = "application/json";
        byte[] body;
        int kind = r.nextInt(10);
        switch (kind) {
            case 0, 1, 2, 3 -> body = mutateJson(base, r).getBytes(StandardCharsets.UTF_8);
            case 4 -> body = mutateBytes(base.getBytes(StandardCharsets.UTF_8), r);
            case 5 -> {
                body = new byte[r.nextInt(300)];
                for (int i = 0; i < body.length; i++) body[i] = (byte) r.nextInt(256);
            }
            case 6 -> {
                body = base.getBytes(StandardCharsets.UTF_8);
                type = TYPES[r.nextInt(TYPES.length)];
            }
            case 7 -> {
                body = r.nextInt(2) == 0 ? null : base.getBytes(StandardCharsets.UTF_8);
                method = METHODS[r.nextInt(METHODS.length)];
                path = PATHS[r.nextInt(PATHS.length)];
            }
            case 8 -> {
                body = base.getBytes(StandardCharsets.UTF_8);
                path = PATHS[r.nextInt(PATHS.length)];
            }
            default -> body = deep(r).getBytes(StandardCharsets.UTF_8);
        }
        HttpResponse<String> resp = Http.send(s, method, path, type.isEmpty() ? null : type, body);
        int status = resp.statusCode();
        String note = "";
        if (status >= 400 && !method.equals("HEAD")) {
            try {
                JsonNode e = Http.json(resp).get("error");
                if (e == null || !e.get("message").isTextual() || !e.has("type") || !e.has("param") || !e.has("code")) {
                    note = " NOT-OPENAI-SHAPE";
                }
            } catch (RuntimeException ex) {
                note = " NOT-OPENAI-SHAPE";
            }
        }
        return status + note + " #" + id + " " + method + " " + path + " " + type + " "
                + (body == null ? "" : RequestParser.clip(new String(body, StandardCharsets.UTF_8))) + " -> "
                + RequestParser.clip(resp.body());
    }

    /** A valid body with a field removed, retyped, set to an edge value, or added. */
    private static String mutateJson(String base, Rng r) {
        ObjectNode o = (ObjectNode) Http.json0(base);
        List<String> names = new ArrayList<>();
        o.fieldNames().forEachRemaining(names::add);
        int mutations = 1 + r.nextInt(3);
        for (int k = 0; k < mutations; k++) {
            String name = names.get(r.nextInt(names.size()));
            switch (r.nextInt(5)) {
                case 0 -> o.remove(name);
                case 1 -> o.set(name, randomValue(r, 2));
                case 2 -> { // mutate inside arrays and objects (messages, prompt ids, stop, stream_options)
                    JsonNode v = o.get(name);
                    if (v instanceof ArrayNode a && !a.isEmpty()) {
                        int i = r.nextInt(a.size());
                        if (a.get(i) instanceof ObjectNode inner && r.nextInt(2) == 0) {
                            List<String> keys = new ArrayList<>();
                            inner.fieldNames().forEachRemaining(keys::add);
                            inner.set(keys.get(r.nextInt(keys.size())), randomValue(r, 1));
                        } else {
                            a.set(i, randomValue(r, 1));
                        }
                    } else if (v instanceof ObjectNode inner) {
                        inner.set("include_usage", randomValue(r, 1));
                    } else {
                        o.set(name, randomValue(r, 0));
                    }
                }
                case 3 -> o.set(new String[] {"n", "echo", "best_of", "logprobs", "suffix", "tools", "response_format",
                    "top_logprobs", "frequency_penalty", "tool_choice", "return_token_ids", "max_tokens", "model"}[r.nextInt(13)],
                        randomValue(r, 1));
                default -> o.set(name, edge(r));
            }
        }
        return o.toString();
    }

    private static JsonNode randomValue(Rng r, int depth) {
        return switch (r.nextInt(depth > 0 ? 9 : 7)) {
            case 0 -> F.nullNode();
            case 1 -> F.booleanNode(r.nextInt(2) == 0);
            case 2 -> F.numberNode(r.nextInt(2001) - 1000);
            case 3 -> F.numberNode(r.nextDouble() * 4 - 2);
            case 4 -> F.textNode(new String[] {"", "user", "wizard", "text", "fuzz", "gpt-4", "\u0000", "\uD800", "é"}[r.nextInt(9)]);
            case 5 -> edge(r);
            case 6 -> F.textNode("x".repeat(r.nextInt(200)));
            case 7 -> {
                ArrayNode a = F.arrayNode();
                for (int i = r.nextInt(6); i > 0; i--) a.add(randomValue(r, depth - 1));
                yield a;
            }
            default -> {
                ObjectNode o = F.objectNode();
                for (int i = r.nextInt(4); i > 0; i--) o.set(new String[] {"role", "content", "type", "text", "include_usage"}[r.nextInt(5)], randomValue(r, depth - 1));
                yield o;
            }
        };
    }

    private static JsonNode edge(Rng r) {
        return switch (r.nextInt(8)) {
            case 0 -> F.numberNode(Long.MAX_VALUE);
            case 1 -> F.numberNode(-1);
            case 2 -> F.numberNode(0);
            case 3 -> F.numberNode(new java.math.BigInteger("123456789012345678901234567890"));
            case 4 -> F.numberNode(1e308);
            case 5 -> F.numberNode(Integer.MAX_VALUE);
            case 6 -> F.numberNode(-0.0);
            default -> F.numberNode(new java.math.BigDecimal("1e-400"));
        };
    }

    private static byte[] mutateBytes(byte[] b, Rng r) {
        byte[] out = b.clone();
        switch (r.nextInt(4)) {
            case 0 -> out = Arrays.copyOf(b, r.nextInt(b.length));
            case 1 -> {
                for (int k = 1 + r.nextInt(4); k > 0; k--) out[r.nextInt(out.length)] = (byte) r.nextInt(256);
            }
            case 2 -> {
                int at = r.nextInt(b.length);
                byte[] junk = new byte[1 + r.nextInt(8)];
                for (int i = 0; i < junk.length; i++) junk[i] = (byte) "{}[],:\"\\0e-.tfn\u00ff".charAt(r.nextInt(16));
                out = new byte[b.length + junk.length];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(junk, 0, out, at, junk.length);
                System.arraycopy(b, at, out, at + junk.length, b.length - at);
            }
            default -> out = (new String(b, StandardCharsets.UTF_8) + "}".repeat(1 + r.nextInt(3))).getBytes(StandardCharsets.UTF_8);
        }
        return out;
    }

    /** Deeply nested or wide JSON, and values where objects belong. */
    private static String deep(Rng r) {
        return switch (r.nextInt(4)) {
            case 0 -> "[".repeat(2000 + r.nextInt(3000)) + "]".repeat(10);
            case 1 -> "{\"prompt\":" + "[".repeat(600) + "1" + "]".repeat(600) + "}";
            case 2 -> "{\"messages\":[" + "{\"role\":\"user\",\"content\":\"a\"},".repeat(r.nextInt(50)) + "7]}";
            default -> "{\"prompt\":\"" + "\\u".repeat(1 + r.nextInt(5)) + "\"}";
        };
    }
}
