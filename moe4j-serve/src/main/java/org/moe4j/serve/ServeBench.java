package org.moe4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
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
 * (batch + queue) at once, in {@link #TIMED_BURSTS} bursts after {@link #WARM_BURSTS} untimed ones; every refusal
 * must be a 429 within 100 ms, the server must stay healthy and be idle again within 5 s after each burst was sent.
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

    /**
     * Overload bursts before the timed ones, not in the verdict. Phase one's few dozen requests leave the HTTP
     * server's request path (and the refusal path, which it never takes) interpreted or barely compiled, and the
     * JIT compiling it during a burst takes the CPUs the refusals need; a server that has run a while has these
     * paths compiled. The first burst's slowest refusal is still reported ({@code coldMaxRejectMs}).
     */
    public static final int WARM_BURSTS = 5;
    /** Timed overload bursts: the verdict holds for every refusal of every one of them. */
    public static final int TIMED_BURSTS = 3;

    /**
     * What the run measured; {@link #passed} says whether the overload criteria held. The overload figures cover
     * the timed bursts together: {@code overloadSent} requests, the median and slowest refusal over all of them,
     * the longest time to idle after one was sent, and the GC pauses (count and milliseconds) that fell in them.
     */
    public record Report(int clients, int requests, long tokens, double seconds, double tokensPerSecond, double p50Ms,
            double p99Ms, int errors, int overloadSent, int overloadRejected, int overloadCompleted, int overloadOther,
            double p50RejectMs, double maxRejectMs, double idleAfterMs, boolean healthyAfter, double coldMaxRejectMs,
            long gcPauses, long gcMs) {
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

            // Phase two: ten times the capacity at once, untimed bursts first (see WARM_BURSTS).
            int n = 10 * (o.maxBatch() + o.maxQueue());
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", server.port());
            double coldMax = 0;
            for (int w = 0; w < WARM_BURSTS; w++) {
                Burst warmup = burst(address, n, o.maxTokens());
                if (w == 0) coldMax = percentile(warmup.rejectNanos(), 1.0);
                waitIdle(server.metrics(), System.nanoTime());
            }
            List<Burst> timed = new ArrayList<>();
            double idleAfter = 0;
            long gcPauses = 0, gcMs = 0;
            for (int t = 0; t < TIMED_BURSTS; t++) {
                long[] gc0 = gc();
                long sent = System.nanoTime();
                timed.add(burst(address, n, o.maxTokens()));
                long[] gc1 = gc();
                gcPauses += gc1[0] - gc0[0];
                gcMs += gc1[1] - gc0[1];
                idleAfter = Math.max(idleAfter, waitIdle(server.metrics(), sent));
            }
            long[] rejectNanos = timed.stream().flatMapToLong(b -> Arrays.stream(b.rejectNanos())).sorted().toArray();
            int rejected = timed.stream().mapToInt(Burst::rejected).sum();
            int completed = timed.stream().mapToInt(Burst::completed).sum();
            int other = timed.stream().mapToInt(Burst::other).sum();
            boolean healthy = send(http, server.baseUri().resolve("/health"), -1, 0) != null;
            return new Report(o.clients(), o.requests(), total, seconds, total / seconds, percentile(sorted, 0.50),
                    percentile(sorted, 0.99), errors.get(), n * TIMED_BURSTS, rejected, completed, other,
                    percentile(rejectNanos, 0.5), percentile(rejectNanos, 1.0), idleAfter, healthy, coldMax, gcPauses, gcMs);
        }
    }

    /** Garbage collections so far in this JVM: {count, milliseconds}. */
    private static long[] gc() {
        long count = 0, ms = 0;
        for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
            count += Math.max(0, g.getCollectionCount());
            ms += Math.max(0, g.getCollectionTime());
        }
        return new long[] {count, ms};
    }

    /** What one burst saw: counts by outcome and the sorted times from connect to the whole 429 response. */
    private record Burst(int rejected, int completed, int other, long[] rejectNanos) {}

    /**
     * Sends {@code n} requests at once from one thread with one selector, the way a separate client process would
     * see them: each request's clock starts when its connect starts and stops when the server has sent the whole
     * response and closed (Connection: close). One platform thread rather than a virtual thread per request,
     * because the bench shares its JVM with the server: 160 client virtual threads would share the server's two
     * carrier threads (and the poller that wakes them), so a 429 written in 1 ms would be seen only once every
     * queued handler had run, and the bench would time its own scheduling rather than the server's answer.
     *
     * <p>Each request is written as soon as its connection is open, and answers are read between connects: 160
     * separate clients would not hold their requests back until the last of them had connected, and a clock that
     * runs while this one thread opens the other connections would time the bench, not the server.
     */
    private static Burst burst(InetSocketAddress address, int n, int maxTokens) {
        long[] start = new long[n], took = new long[n];
        int[] status = new int[n];
        ByteBuffer[] received = new ByteBuffer[n];
        try (Selector selector = Selector.open()) {
            int open = n;
            for (int i = 0; i < n; i++) {
                byte[] body = body(i, maxTokens).getBytes(StandardCharsets.UTF_8);
                byte[] head = ("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Connection: close\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
                ByteBuffer request = ByteBuffer.allocate(head.length + body.length).put(head).put(body).flip();
                SocketChannel ch = SocketChannel.open();
                ch.configureBlocking(false);
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                start[i] = System.nanoTime();
                // Small, grown when full: an answer is under 1 KB, and 64 KB per connection (10 MB a burst) was the
                // largest allocation during the overload phase, so the bench brought on GC pauses it then timed.
                received[i] = ByteBuffer.allocate(1 << 10);
                ch.register(selector, ch.connect(address) ? SelectionKey.OP_WRITE : SelectionKey.OP_CONNECT,
                        new Object[] {i, request});
                selector.selectNow();
                open -= service(selector, start, took, status, received);
            }
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (open > 0 && System.nanoTime() < deadline) {
                selector.select(1000);
                open -= service(selector, start, took, status, received);
            }
            for (SelectionKey key : selector.keys()) key.channel().close(); // past the deadline: counted as other
        } catch (IOException e) {
            throw new Moe4jException("bench serve: the overload burst failed: " + e);
        }
        int rejected = 0, completed = 0;
        for (int s : status) {
            if (s == 429) rejected++;
            else if (s == 200) completed++;
        }
        long[] rejectNanos = new long[rejected];
        for (int i = 0, j = 0; i < n; i++) if (status[i] == 429) rejectNanos[j++] = took[i];
        Arrays.sort(rejectNanos);
        return new Burst(rejected, completed, n - rejected - completed, rejectNanos);
    }

    /** Connects, writes and reads what the last select found ready; returns how many connections ended. */
    private static int service(Selector selector, long[] start, long[] took, int[] status, ByteBuffer[] received)
            throws IOException {
        int ended = 0;
        for (SelectionKey key : selector.selectedKeys()) {
            SocketChannel ch = (SocketChannel) key.channel();
            int i = (int) ((Object[]) key.attachment())[0];
            ByteBuffer request = (ByteBuffer) ((Object[]) key.attachment())[1];
            try {
                if (key.isConnectable() && ch.finishConnect()) key.interestOps(SelectionKey.OP_WRITE);
                if (key.isValid() && key.isWritable()) {
                    ch.write(request);
                    if (!request.hasRemaining()) key.interestOps(SelectionKey.OP_READ);
                }
                if (key.isValid() && key.isReadable()) {
                    ByteBuffer in = received[i];
                    if (!in.hasRemaining()) received[i] = in = ByteBuffer.allocate(in.capacity() * 2).put(in.flip());
                    if (ch.read(in) < 0) { // the server closed: the whole response is here
                        took[i] = System.nanoTime() - start[i];
                        status[i] = statusOf(in);
                        key.cancel();
                        ch.close();
                        ended++;
                    }
                }
            } catch (IOException e) {
                status[i] = -1;
                key.cancel();
                ch.close();
                ended++;
            }
        }
        selector.selectedKeys().clear();
        return ended;
    }

    private static int statusOf(ByteBuffer response) {
        String text = new String(response.array(), 0, response.position(), StandardCharsets.ISO_8859_1);
        if (!text.startsWith("HTTP/1.1 ") || text.length() < 12) return -1;
        try {
            return Integer.parseInt(text.substring(9, 12));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Waits until no request is queued or running (at most 30 s); the milliseconds since {@code since}. */
    private static double waitIdle(Metrics m, long since) {
        while ((m.queueDepth() > 0 || m.runningBatch() > 0) && System.nanoTime() - since < 30_000_000_000L) sleep();
        return (System.nanoTime() - since) / 1e6;
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
