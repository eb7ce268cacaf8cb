package org.moe4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Overload: refusals come before reading the body, the scheduler yields to undecided exchanges and to floods of
 * refusals (for a bounded time), and the undecided count always returns to zero.
 */
class OverloadTest {
    @Test
    void undecidedExchangesAreCountedDownWhetherRefusedAcceptedOrMalformed() throws Exception {
        ServerConfig c = ServerConfig.local("overload").withBatch(1, 1);
        try (Moe4jServer s = Moe4jServer.start(c, () -> TinyModels.tiny(256, 3));
                ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            s.awaitLoaded();
            List<Future<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                String body = i % 6 == 5 ? "{not json" : "{\"prompt\":\"x" + i + "\",\"max_tokens\":64,\"ignore_eos\":true}";
                all.add(pool.submit(() -> Http.post(s, "/v1/completions", body)));
            }
            int ok = 0, refused = 0, bad = 0;
            for (Future<HttpResponse<String>> f : all) {
                int status = f.get().statusCode();
                if (status == 200) ok++;
                else if (status == 429) refused++;
                else if (status == 400) bad++;
            }
            assertEquals(24, ok + refused + bad, "every answer is 200, 429 or 400");
            assertTrue(refused > 0, "24 requests at once against a capacity of 2 must see refusals");
            assertTrue(ok >= 2, "the admitted requests complete: " + ok);
            // The count drops just after the answer is flushed, so the client may see it first.
            assertTrue(Http.eventually(2000, () -> s.undecidedExchanges() == 0), "every exchange counted down once");
            assertEquals(ok, s.metrics().outcome(Metrics.Outcome.COMPLETED));
            assertEquals(refused, s.metrics().outcome(Metrics.Outcome.REJECTED));
            assertEquals(ok, s.metrics().acceptedTotal(), "accepted = completed once quiet");
            assertEquals(200, Http.get(s, "/health").statusCode());
            assertTrue(Http.eventually(2000, () -> s.undecidedExchanges() == 0));
        }
    }

    @Test
    void whenFullEvenAMalformedBodyIsRefusedAtOnceAndGetsIts400WithRoom() {
        String longStream = "{\"prompt\":\"x\",\"max_tokens\":1000,\"ignore_eos\":true,\"stream\":true}";
        try (Moe4jServer s = Moe4jServer.start(ServerConfig.local("full").withBatch(1, 0), () -> TinyModels.tiny(1024, 2))) {
            s.awaitLoaded();
            SseSocket holder = new SseSocket(s.port(), "/v1/completions", longStream);
            assertTrue(holder.awaitEvents(1).contains(" 200"));
            HttpResponse<String> refused = Http.post(s, "/v1/completions", "{not json");
            ServerApiTest.assertError(refused, 429, null);
            assertEquals("server_overloaded", Http.json(refused).get("error").get("code").asText());
            assertEquals("rate_limit_error", Http.json(refused).get("error").get("type").asText());
            assertTrue(Http.json(refused).get("error").get("message").asText().contains("capacity (1 requests"),
                    refused.body());
            assertEquals("1", refused.headers().firstValue("Retry-After").orElse(""));
            assertEquals("application/json", refused.headers().firstValue("Content-Type").orElse(""));
            holder.close();
            assertTrue(Http.eventually(5000, () -> s.metrics().runningBatch() == 0));
            ServerApiTest.assertError(Http.post(s, "/v1/completions", "{not json"), 400, null);
            assertEquals(1, s.metrics().outcome(Metrics.Outcome.REJECTED));
            assertEquals(1, s.metrics().outcome(Metrics.Outcome.INVALID));
        }
    }

    @Test
    void quietTheLoopNeverPauses() {
        assertFalse(Scheduler.pauseMore(0, 5_000_000L, 0, false));
    }

    @Test
    void undecidedExchangesGetAtMostHalfAStep() {
        long step = 4_000_000L;
        assertTrue(Scheduler.pauseMore(0, step, 1, false));
        assertTrue(Scheduler.pauseMore(step / 2 - 1, step, 3, false));
        assertFalse(Scheduler.pauseMore(step / 2, step, 3, false), "a slow body cannot slow the batch by more than a third");
    }

    @Test
    void whileRefusalsComeTheLoopPausesUpToEightSteps() {
        long step = 1_000_000L;
        assertTrue(Scheduler.pauseMore(0, step, 0, true), "refusing: pause even with nothing undecided");
        assertTrue(Scheduler.pauseMore(Scheduler.FLOOD_PAUSE_STEPS * step - 1, step, 5, true));
        assertFalse(Scheduler.pauseMore(Scheduler.FLOOD_PAUSE_STEPS * step, step, 5, true));
        // Once the refusals stop, only the undecided rule is left, and its half step has long passed.
        assertFalse(Scheduler.pauseMore(2 * step, step, 5, false));
    }

    @Test
    void noPauseOutlastsTheCap() {
        long slowStep = 200_000_000L; // a large model: 8 steps would be 1.6 s
        assertTrue(Scheduler.pauseMore(Scheduler.MAX_PAUSE_NANOS - 1, slowStep, 1, true));
        assertFalse(Scheduler.pauseMore(Scheduler.MAX_PAUSE_NANOS, slowStep, 1, true));
        assertFalse(Scheduler.pauseMore(Scheduler.MAX_PAUSE_NANOS, slowStep, 1, false));
    }

    @Test
    void eachRefusalMovesTheFloodDeadlineOnUpToTheCap() {
        long c = Scheduler.PAUSE_PER_REFUSAL_NANOS;
        long t = -5_000_000_000L; // nanoTime values may be negative
        long until = t - 1;
        until = Scheduler.extendFlood(until, t);
        assertEquals(t + c, until, "a first refusal: from now");
        until = Scheduler.extendFlood(until, t + 1);
        assertEquals(t + 2 * c, until, "a second at once: from the deadline");
        until = Scheduler.extendFlood(until, t + 10 * c);
        assertEquals(t + 11 * c, until, "after a lull: from now again, nothing saved up");
        for (int i = 0; i < 1000; i++) until = Scheduler.extendFlood(until, t + 10 * c);
        assertEquals(t + 10 * c + Scheduler.MAX_PAUSE_NANOS, until, "a burst is paused for at most the cap ahead");
        assertEquals(Long.MAX_VALUE - 5 + c, Scheduler.extendFlood(Long.MAX_VALUE - 10, Long.MAX_VALUE - 5),
                "past the wrap of nanoTime too");
    }

    @Test
    void aSteadyFloodPausesTheLoopInProportionToItsRate() {
        long c = Scheduler.PAUSE_PER_REFUSAL_NANOS;
        assertEquals(0.1, refusingShare(10 * c), 1e-3, "one refusal per 10 pauses: a tenth of the time");
        assertEquals(0.5, refusingShare(2 * c), 1e-3);
        assertEquals(1.0, refusingShare(c / 2), 1e-3, "faster than one per pause: all the time");
    }

    /** The share of one second before the deadline, with a refusal every {@code gap} nanoseconds. */
    private static double refusingShare(long gap) {
        long until = -1, refusing = 0, second = 1_000_000_000L;
        for (long t = 0; t < second; t += gap) {
            until = Scheduler.extendFlood(until, t);
            refusing += Math.min(until, t + gap) - t;
        }
        return (double) refusing / second;
    }
}
