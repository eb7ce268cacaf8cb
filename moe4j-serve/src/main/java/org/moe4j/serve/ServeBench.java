package org.moe4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.moe4j.common.Moe4jException;
import org.moe4j.infer.LoadedModel;

/**
 * A bounded load run against a local server (loopback only). Phase one: {@code clients} concurrent clients send
 * {@code requests} completions of {@code maxTokens} tokens between them; throughput, p50/p99 latency and errors
 * (which must be 0, the clients being within capacity). Phase two, overload: ten times the server's capacity
 * (batch + queue) at once; every refusal must be a 429 within 100 ms, the server must stay healthy and be idle again
 * within 5 s after the last request was sent.
 */
public final class ServeBench {
    /** The bench's settings; clients must not exceed maxBatch + maxQueue (else phase one would see 429s). */
    public record Options(int clients, int requests, int maxTokens, int maxBatch, int maxQueue) {
        public Options {
            if (clients < 1 || requests < 1 || maxTokens < 1) {
                throw new Moe4jException("bench serve: --clients, --requests and --max-tokens must be >= 1");
            }
            if (clients > maxBatch + maxQueue) {
                throw new Moe4jException("bench serve: " + clients + " clients exceed the capacity " + (maxBatch + maxQueue)
                        + " (--max-batch + --max-queue); phase one measures under capacity");
            }
        }
    }

    /** What the run measured; {@link #passed} says whether the overload criteria held. */
    public record Report(int clients, int requests, long tokens, double seconds, double tokensPerSecond, double p50Ms,
            double p99Ms, int errors, int overloadSent, int overloadRejected, int overloadCompleted, int overloadOther,
            double p50RejectMs, double maxRejectMs, double idleAfterMs, boolean healthyAfter) {
        public boolean passed() {
            return errors == 0 && overloadOther == 0 && maxRejectMs <= 100 && idleAfterMs <= 5000 && healthyAfter;
        }
    }

    private ServeBench() {}

    public static Report run(Supplier<LoadedModel> model, Options o) {
        ServerConfig config = new ServerConfig("127.0.0.1", 0, o.maxBatch(), o.maxQueue(), Duration.ofSeconds(300), null,
                ServerConfig.DEFAULT_MAX_BODY, "bench");
        try (Moe4jServer server = Moe4jServer.start(config, model);
                ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            server.awaitLoaded();
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(pool)
                    .connectTimeout(Duration.ofSeconds(10)).build();
            URI url = server.baseUri().resolve("/v1/completions");
            // Warm-up, not counted: the JIT compiles the model and the HTTP paths.
            List<Future<?>> warm = new ArrayList<>();
            for (int i = 0; i < 2 * o.clients(); i++) {
                int id = i;
                warm.add(pool.submit(() -> send(http, url, id, o.maxTokens())));
            }
            await(warm);

            // Phase one: within capacity.
            AtomicInteger next = new AtomicInteger();
            long[] latencies = new long[o.requests()];
            long[] tokens = new long[o.requests()];
            AtomicInteger errors = new AtomicInteger();
            long t0 = System.nanoTime();
            List<Future<?>> clients = new ArrayList<>();
            for (int c = 0; c < o.clients(); c++) {
                clients.add(pool.submit(() -> {
                    for (int i; (i = next.getAndIncrement()) < o.requests(); ) {
                        long s = System.nanoTime();
                        HttpResponse<String> r = send(http, url, i, o.maxTokens());
                        latencies[i] = System.nanoTime() - s;
                        if (r == null || r.statusCode() != 200) errors.incrementAndGet();
                        else tokens[i] = usage(r);
                    }
                }));
            }
            await(clients);
            double seconds = (System.nanoTime() - t0) / 1e9;
            long total = Arrays.stream(tokens).sum();
            long[] sorted = latencies.clone();
            Arrays.sort(sorted);

            // Phase two: ten times the capacity at once.
            int n = 10 * (o.maxBatch() + o.maxQueue());
            AtomicInteger rejected = new AtomicInteger(), completed = new AtomicInteger(), other = new AtomicInteger();
            long[] rejectNanos = new long[n];
            List<Future<?>> burst = new ArrayList<>();
            // Raw sockets, one per virtual thread: HttpClient funnels new connections through one selector thread,
            // which would measure the client's queue rather than the server's answer.
            int port = server.port();
            for (int i = 0; i < n; i++) {
                int id = i;
                burst.add(pool.submit(() -> {
                    int status = 0;
                    long took = 0;
                    try (java.net.Socket sock = new java.net.Socket("127.0.0.1", port)) {
                        sock.setSoTimeout(120_000);
                        byte[] body = body(id, o.maxTokens()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                        var out = sock.getOutputStream();
                        long s = System.nanoTime();
                        out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                + "Connection: close\r\nContent-Length: " + body.length + "\r\n\r\n")
                                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                        out.write(body);
                        out.flush();
                        var in = new java.io.BufferedReader(new java.io.InputStreamReader(sock.getInputStream(),
                                java.nio.charset.StandardCharsets.ISO_8859_1));
                        String line = in.readLine();
                        took = System.nanoTime() - s;
                        if (line != null && line.length() >= 12) status = Integer.parseInt(line.substring(9, 12));
                        while (in.readLine() != null) { } // the rest of the answer
                    } catch (IOException | NumberFormatException e) {
                        status = -1;
                    }
                    if (status == 429) {
                        rejected.incrementAndGet();
                        rejectNanos[id] = took;
                    } else if (status == 200) {
                        completed.incrementAndGet();
                    } else {
                        other.incrementAndGet();
                    }
                }));
            }
            long sent = System.nanoTime();
            await(burst);
            Metrics m = server.metrics();
            while ((m.queueDepth() > 0 || m.runningBatch() > 0) && System.nanoTime() - sent < 30_000_000_000L) {
                sleep();
            }
            double idleAfter = (System.nanoTime() - sent) / 1e6;
            boolean healthy = send(http, server.baseUri().resolve("/health"), -1, 0) != null;
            return new Report(o.clients(), o.requests(), total, seconds, total / seconds, percentile(sorted, 0.50),
                    percentile(sorted, 0.99), errors.get(), n, rejected.get(), completed.get(), other.get(),
                    percentile(Arrays.stream(rejectNanos).filter(x -> x > 0).sorted().toArray(), 0.5),
                    Arrays.stream(rejectNanos).max().orElse(0) / 1e6, idleAfter, healthy);
        }
    }

    private static HttpResponse<String> send(HttpClient http, URI url, int id, int maxTokens) {
        HttpRequest.Builder b = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(120));
        if (id < 0) b.GET();
        else b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body(id, maxTokens)));
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return id < 0 && r.statusCode() != 200 ? null : r;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static String body(int id, int maxTokens) {
        return "{\"prompt\":\"Request " + id + ": tell me a story.\",\"max_tokens\":" + maxTokens
                + ",\"ignore_eos\":true,\"temperature\":0}";
    }

    private static long usage(HttpResponse<String> r) {
        try {
            JsonNode u = Moe4jServer.JSON.readTree(r.body()).get("usage");
            return u.get("completion_tokens").asLong();
        } catch (IOException e) {
            return 0;
        }
    }

    private static void await(List<Future<?>> futures) {
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (Exception e) {
                throw new Moe4jException("bench serve: a client failed: " + e);
            }
        }
    }

    private static double percentile(long[] sortedNanos, double q) {
        if (sortedNanos.length == 0) return 0;
        int i = (int) Math.min(sortedNanos.length - 1, Math.max(0, Math.ceil(q * sortedNanos.length) - 1));
        return sortedNanos[i] / 1e6;
    }

    private static void sleep() {
        try {
            Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
