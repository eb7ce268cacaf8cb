package org.moe4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Overload: the scheduler yields to undecided exchanges, and that count always returns to zero. */
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
            assertEquals(200, Http.get(s, "/health").statusCode());
            assertTrue(Http.eventually(2000, () -> s.undecidedExchanges() == 0));
        }
    }
}
