package org.moe4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;

/** Continuous batching through HTTP: isolation of requests, overload, timeouts, vanished clients, exact accounting. */
class BatchingTest {
    /** 32 different requests: greedy and seeded sampling, different prompts, lengths and filters. */
    static List<String> requests() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            String sampling = i % 2 == 0 ? "\"temperature\":0"
                    : "\"temperature\":" + (0.5 + 0.1 * (i % 5)) + ",\"seed\":" + (1000 + i)
                            + (i % 3 == 0 ? ",\"top_k\":20" : "") + (i % 4 == 1 ? ",\"top_p\":0.9" : "");
            String prompt = "Request " + i + ": " + "abcdefghij".substring(0, 1 + i % 10);
            String body = "{\"prompt\":\"" + prompt + "\",\"max_tokens\":" + (2 + i % 5)
                    + ",\"ignore_eos\":true,\"return_token_ids\":true," + sampling + "}";
            out.add(i % 5 == 0 ? body.replace("{\"prompt\":\"" + prompt + "\"",
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]") : body);
        }
        return out;
    }

    static String path(String body) {
        return body.startsWith("{\"messages\"") ? "/v1/chat/completions" : "/v1/completions";
    }

    /** What must not change: the token ids, the text and why it ended. */
    static String outcome(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        JsonNode choice = Http.json(r).get("choices").get(0);
        JsonNode text = choice.has("message") ? choice.get("message").get("content") : choice.get("text");
        return choice.get("token_ids") + "|" + text + "|" + choice.get("finish_reason");
    }

    @Test
    void aRequestGetsTheSameTokensAloneOrBatchedWith1And7And31Others() throws Exception {
        List<String> reqs = requests();
        try (Moe4jServer s = Moe4jServer.start(ServerConfig.local("iso").withBatch(32, 32), () -> TinyModels.tiny(64, 11));
                ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            s.awaitLoaded();
            List<String> alone = new ArrayList<>();
            for (String r : reqs) alone.add(outcome(Http.post(s, path(r), r)));
            Rng rng = new Rng(5);
            for (int size : new int[] {2, 8, 32}) {
                int[] order = new int[reqs.size()];
                for (int i = 0; i < order.length; i++) order[i] = i;
                rng.shuffle(order);
                long stepsBefore = steps(s);
                int tokens = 0;
                CountDownLatch go = new CountDownLatch(1);
                List<Future<String>> results = new ArrayList<>();
                for (int k = 0; k < size; k++) {
                    String r = reqs.get(order[k]);
                    tokens += 2 + order[k] % 5;
                    results.add(pool.submit(() -> {
                        go.await();
                        return outcome(Http.post(s, path(r), r));
                    }));
                }
                go.countDown();
                for (int k = 0; k < size; k++) {
                    assertEquals(alone.get(order[k]), results.get(k).get(), "request " + order[k] + " in a group of " + size);
                }
                if (size == 32) {
                    long steps = steps(s) - stepsBefore;
                    assertTrue(steps < tokens, "32 concurrent requests should share steps: " + steps + " steps for "
                            + tokens + " tokens");
                }
            }
        }
    }

    private static long steps(Moe4jServer s) {
        String text = s.metrics().render();
        int i = text.indexOf("\nmoe4j_batch_steps_total ");
        return Long.parseLong(text.substring(i + 25, text.indexOf('\n', i + 1)).strip());
    }

    @Test
    void overloadIsRefusedAtOnceAndVanishedClientsFreeTheirSlots() {
        String longStream = "{\"prompt\":\"x\",\"max_tokens\":1000,\"ignore_eos\":true,\"stream\":true}";
        try (Moe4jServer s = Moe4jServer.start(ServerConfig.local("ovl").withBatch(1, 1), () -> TinyModels.tiny(1024, 2))) {
            s.awaitLoaded();
            Metrics m = s.metrics();
            SseSocket a = new SseSocket(s.port(), "/v1/completions", longStream);
            assertTrue(a.awaitEvents(1).contains(" 200"));
            SseSocket b = new SseSocket(s.port(), "/v1/completions", longStream);
            assertTrue(Http.eventually(5000, () -> m.queueDepth() == 1));
            long t0 = System.nanoTime();
            HttpResponse<String> refused = Http.post(s, "/v1/completions", "{\"prompt\":\"y\",\"max_tokens\":1}");
            long millis = (System.nanoTime() - t0) / 1_000_000;
            ServerApiTest.assertError(refused, 429, null);
            assertEquals("1", refused.headers().firstValue("Retry-After").orElse(""));
            assertTrue(millis < 2000, "refused after " + millis + " ms");
            a.close();
            assertTrue(b.awaitEvents(1).contains(" 200"), "the queued request takes the freed slot");
            assertEquals(1, m.outcome(Metrics.Outcome.CANCELLED));
            b.close();
            assertTrue(Http.eventually(5000, () -> m.outcome(Metrics.Outcome.CANCELLED) == 2 && m.runningBatch() == 0));
            assertEquals(2, m.acceptedTotal());
            assertEquals(1, m.outcome(Metrics.Outcome.REJECTED));
            assertEquals(0, m.outcome(Metrics.Outcome.COMPLETED));
            assertTrue(m.generatedTokens() < 2000, "cancelled sequences stopped early: " + m.generatedTokens());
            assertEquals(200, Http.get(s, "/health").statusCode());
        }
    }

    @Test
    void requestsPastTheTimeoutEndWith504OrAnErrorEvent() {
        ServerConfig c = ServerConfig.local("slow").withBatch(1, 4).withTimeout(Duration.ofMillis(1));
        try (Moe4jServer s = Moe4jServer.start(c, () -> TinyModels.tiny(1024, 2))) {
            s.awaitLoaded();
            HttpResponse<String> r = Http.post(s, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1000,\"ignore_eos\":true}");
            ServerApiTest.assertError(r, 504, null);
            assertEquals("timeout_error", Http.json(r).get("error").get("type").asText());
            HttpResponse<String> st = Http.post(s, "/v1/chat/completions",
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":900,\"ignore_eos\":true,\"stream\":true}");
            assertEquals(200, st.statusCode());
            List<JsonNode> events = Http.events(st.body());
            assertEquals("request_timeout", events.getLast().get("error").get("code").asText());
            assertEquals(2, s.metrics().outcome(Metrics.Outcome.TIMEOUT));
        }
    }

    @Test
    void everyAcceptedRequestEndsExactlyOnceUnderChaos() throws Exception {
        ServerConfig c = ServerConfig.local("chaos").withBatch(4, 6).withTimeout(Duration.ofMillis(400));
        Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
        try (Moe4jServer s = Moe4jServer.start(c, () -> TinyModels.tiny(512, 9));
                ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            s.awaitLoaded();
            Rng rng = new Rng(77);
            List<Future<?>> all = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                int kind = rng.nextInt(4);
                int tokens = 1 + rng.nextInt(kind == 3 ? 400 : 20);
                String body = "{\"prompt\":\"chaos " + i + "\",\"max_tokens\":" + tokens + ",\"ignore_eos\":true"
                        + (kind >= 2 ? ",\"stream\":true" : "") + "}";
                all.add(pool.submit(() -> {
                    if (kind == 2) { // a client that hangs up after its first event
                        try (SseSocket sock = new SseSocket(s.port(), "/v1/completions", body)) {
                            String status = sock.awaitEvents(1);
                            seen.computeIfAbsent("hangup " + (status == null ? "none" : status.substring(9, 12)),
                                    k -> new AtomicInteger()).incrementAndGet();
                        }
                        return;
                    }
                    HttpResponse<String> r = Http.post(s, "/v1/completions", body);
                    seen.computeIfAbsent(r.statusCode() + (kind == 3 && r.body().contains("request_timeout")
                            ? " timeout-event" : ""), k -> new AtomicInteger()).incrementAndGet();
                }));
            }
            for (Future<?> f : all) f.get();
            Metrics m = s.metrics();
            assertTrue(Http.eventually(5000, () -> m.runningBatch() == 0 && m.queueDepth() == 0));
            long ended = m.outcome(Metrics.Outcome.COMPLETED) + m.outcome(Metrics.Outcome.ERROR)
                    + m.outcome(Metrics.Outcome.TIMEOUT) + m.outcome(Metrics.Outcome.CANCELLED);
            assertTrue(Http.eventually(5000, () -> m.acceptedTotal() == m.outcome(Metrics.Outcome.COMPLETED)
                    + m.outcome(Metrics.Outcome.ERROR) + m.outcome(Metrics.Outcome.TIMEOUT)
                    + m.outcome(Metrics.Outcome.CANCELLED)), "accepted " + m.acceptedTotal() + " != ended " + ended);
            assertEquals(0, m.outcome(Metrics.Outcome.ERROR), seen.toString());
            int refused = seen.getOrDefault("429", new AtomicInteger()).get()
                    + seen.getOrDefault("hangup 429", new AtomicInteger()).get();
            assertEquals(refused, m.outcome(Metrics.Outcome.REJECTED), seen.toString());
            assertEquals(60, m.acceptedTotal() + m.outcome(Metrics.Outcome.REJECTED), seen.toString());
            assertTrue(m.outcome(Metrics.Outcome.COMPLETED) >= seen.getOrDefault("200", new AtomicInteger()).get(),
                    seen.toString());
            assertEquals(200, Http.get(s, "/health").statusCode());
        }
    }
}
