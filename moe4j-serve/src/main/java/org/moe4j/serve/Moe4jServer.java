package org.moe4j.serve;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.moe4j.common.Moe4jException;
import org.moe4j.infer.GenerationOptions;
import org.moe4j.infer.GenerationResult;
import org.moe4j.infer.GenerationSequence;
import org.moe4j.infer.Generator;
import org.moe4j.infer.InvalidRequestException;
import org.moe4j.infer.LoadedModel;

/**
 * The OpenAI-compatible HTTP server: GET /v1/models, POST /v1/completions and /v1/chat/completions (streaming with
 * Server-Sent Events or not), GET /health (503 while the model loads, 200 when ready) and GET /metrics (Prometheus
 * text). Runs on the JDK's HTTP server with one virtual thread per exchange; one {@link Scheduler} thread batches
 * the model calls. The port opens at once and the model loads in the background.
 *
 * <p>Errors have OpenAI's shape {@code {"error": {"message", "type", "param", "code"}}}: 400 bad parameter or JSON,
 * 401 missing or wrong API key, 404 unknown path or model, 405 wrong method, 413 body too large, 415 not JSON, 429
 * full (with Retry-After), 503 still loading, 504 the request passed --timeout (in a stream: an error event, then
 * {@code [DONE]}). A streaming client that disconnects has its sequence cancelled before the next step; a
 * non-streaming one cannot be noticed before its answer is written, and runs to its end or its timeout.
 */
public final class Moe4jServer implements AutoCloseable {
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    /** The default max_tokens of a completion (OpenAI's); a chat completion defaults to the rest of the context. */
    static final int DEFAULT_COMPLETION_TOKENS = 16;

    private record Ready(Generator generator, Scheduler scheduler, ChatFormatter chat) {}

    private final ServerConfig config;
    private final Metrics metrics = new Metrics();
    private final HttpServer http;
    private final ExecutorService executor;
    private final byte[] keyDigest; // SHA-256 of the API key, or null
    private final CountDownLatch loaded = new CountDownLatch(1);
    /** Exchanges handed to the executor whose admission is not yet decided; the scheduler gives them the CPUs. */
    private final AtomicInteger undecided = new AtomicInteger();
    /** The current exchange's "decided" flag, so that it is counted down exactly once. */
    private static final ScopedValue<AtomicBoolean> DECISION = ScopedValue.newInstance();
    private final long created = System.currentTimeMillis() / 1000;
    /** The whole 429 body, made once: under a flood refusing is nearly all the server does. */
    private final byte[] overloadedBody;
    private volatile Ready ready;
    private volatile String loadFailure;

    private Moe4jServer(ServerConfig config, Supplier<LoadedModel> loader, Function<LoadedModel, ChatFormatter> chat)
            throws IOException {
        this.config = config;
        this.keyDigest = config.apiKey() == null ? null : sha256(config.apiKey());
        this.overloadedBody = jsonBytes(errorBody(ApiException.overloaded(config.maxBatch() + config.maxQueue())));
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        // Responses are written as headers then body: with Nagle's algorithm the body of a small answer (a 429)
        // waits for the peer's (delayed) ACK of the headers. The JDK server reads this once, at its first use.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) System.setProperty("sun.net.httpserver.nodelay", "true");
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 1024);
        http.setExecutor(exchange -> {
            AtomicBoolean decision = new AtomicBoolean();
            undecided.incrementAndGet();
            try {
                executor.execute(() -> {
                    try {
                        ScopedValue.where(DECISION, decision).run(exchange);
                    } finally {
                        decided(decision); // a request the JDK refused before our handler saw it
                    }
                });
            } catch (RuntimeException e) { // the executor is shut down: nothing will run
                decided(decision);
                throw e;
            }
        });
        http.createContext("/", this::handle);
        http.start();
        Thread.ofPlatform().name("moe4j-model-loader").daemon(true).start(() -> load(loader, chat));
    }

    /** Opens the port now and loads the model in the background (see {@link #awaitLoaded}); chats use the plain template. */
    public static Moe4jServer start(ServerConfig config, Supplier<LoadedModel> loader) {
        return start(config, loader, model -> ChatFormatter.plain());
    }

    /** As {@link #start(ServerConfig, Supplier)}, with the chat formatter chosen per model by {@code chat}. */
    public static Moe4jServer start(ServerConfig config, Supplier<LoadedModel> loader,
            Function<LoadedModel, ChatFormatter> chat) {
        try {
            return new Moe4jServer(config, loader, chat);
        } catch (IOException e) {
            throw new Moe4jException("serve: cannot listen on " + config.host() + ":" + config.port() + ": "
                    + e.getMessage() + "; choose another --port or --host");
        }
    }

    private void load(Supplier<LoadedModel> loader, Function<LoadedModel, ChatFormatter> chat) {
        try {
            LoadedModel model = loader.get();
            Generator generator = Generator.of(model);
            Scheduler scheduler = new Scheduler(generator, config.maxBatch(), config.maxQueue(),
                    config.timeout(), metrics, undecided::get);
            ready = new Ready(generator, scheduler, chat.apply(model));
            metrics.ready(true);
        } catch (RuntimeException | OutOfMemoryError e) {
            loadFailure = e.getMessage() == null ? e.toString() : e.getMessage();
        } finally {
            loaded.countDown();
        }
    }

    /** Waits until the model has loaded; throws the load failure if it failed. */
    public void awaitLoaded() {
        try {
            loaded.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Moe4jException("serve: interrupted while the model loads");
        }
        if (loadFailure != null) throw new Moe4jException(loadFailure);
    }

    public boolean isReady() {
        return ready != null;
    }

    public int port() {
        return http.getAddress().getPort();
    }

    /** The API's base address, e.g. {@code http://127.0.0.1:8080/v1}. */
    public URI baseUri() {
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return URI.create("http://" + host + ":" + port() + "/v1");
    }

    /** Exchanges not yet answered or accepted (0 when quiet; a leak would slow every later step). */
    int undecidedExchanges() {
        return undecided.get();
    }

    public Metrics metrics() {
        return metrics;
    }

    public ServerConfig config() {
        return config;
    }

    /** Stops listening; running and queued requests end with an error. */
    @Override
    public void close() {
        http.stop(0);
        Ready r = ready;
        if (r != null) r.scheduler().close();
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- routing ----

    private void handle(HttpExchange ex) {
        try {
            route(ex);
        } catch (ApiException e) {
            metrics.count(e.status() == 429 ? Metrics.Outcome.REJECTED
                    : e.status() == 503 ? Metrics.Outcome.UNAVAILABLE : Metrics.Outcome.INVALID);
            sendError(ex, e);
        } catch (RuntimeException e) {
            System.err.println("moe4j serve: internal error on " + ex.getRequestMethod() + " "
                    + ex.getRequestURI() + ": " + e);
            sendError(ex, ApiException.internal("internal error: " + e.getMessage()));
        } finally {
            ex.close();
            if (DECISION.isBound()) decided(DECISION.get());
        }
    }

    /** Counts an exchange as decided (answered, or accepted into the scheduler), once. */
    private void decided(AtomicBoolean decision) {
        if (decision.compareAndSet(false, true)) undecided.decrementAndGet();
    }

    private void route(HttpExchange ex) {
        String path = ex.getRequestURI().getRawPath();
        if (path == null) throw ApiException.notFound("no such path");
        if (path.equals("/health")) {
            method(ex, "GET");
            health(ex);
            return;
        }
        authorize(ex);
        switch (path) {
            case "/v1/models" -> {
                method(ex, "GET");
                ObjectNode list = JSON.createObjectNode().put("object", "list");
                list.putArray("data").add(modelObject());
                sendJson(ex, 200, list);
            }
            case "/metrics" -> {
                method(ex, "GET");
                send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.render().getBytes(StandardCharsets.UTF_8));
            }
            case "/v1/completions" -> {
                method(ex, "POST");
                generate(ex, false);
            }
            case "/v1/chat/completions" -> {
                method(ex, "POST");
                generate(ex, true);
            }
            default -> {
                if (path.startsWith("/v1/models/")) {
                    method(ex, "GET");
                    String id;
                    try {
                        id = URLDecoder.decode(path.substring("/v1/models/".length()), StandardCharsets.UTF_8);
                    } catch (IllegalArgumentException e) {
                        throw ApiException.notFound("no such model: the id is not valid percent-encoding");
                    }
                    if (!id.equals(config.modelId())) throw ApiException.modelNotFound(RequestParser.clip(id), config.modelId());
                    sendJson(ex, 200, modelObject());
                } else {
                    throw ApiException.notFound("no such path: " + RequestParser.clip(path)
                            + "; the API is under /v1 (models, completions, chat/completions)");
                }
            }
        }
    }

    private static void method(HttpExchange ex, String allowed) {
        String m = ex.getRequestMethod();
        if (m.equals(allowed) || (allowed.equals("GET") && m.equals("HEAD"))) return;
        ex.getResponseHeaders().set("Allow", allowed.equals("GET") ? "GET, HEAD" : allowed);
        throw ApiException.methodNotAllowed(RequestParser.clip(m), ex.getRequestURI().getRawPath(), allowed);
    }

    private void authorize(HttpExchange ex) {
        if (keyDigest == null) return;
        String header = ex.getRequestHeaders().getFirst("Authorization");
        String token = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip() : "";
        // Digests of equal length, compared in constant time: neither the key's length nor its prefix leaks.
        if (!MessageDigest.isEqual(keyDigest, sha256(token))) {
            ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
            throw ApiException.unauthorized();
        }
    }

    private void health(HttpExchange ex) {
        ObjectNode body = JSON.createObjectNode();
        if (ready != null) {
            sendJson(ex, 200, body.put("status", "ok").put("model", config.modelId()));
        } else {
            ex.getResponseHeaders().set("Retry-After", "1");
            if (loadFailure != null) body.put("status", "failed").put("error", loadFailure);
            else body.put("status", "loading");
            sendJson(ex, 503, body);
        }
    }

    private ObjectNode modelObject() {
        return JSON.createObjectNode().put("id", config.modelId()).put("object", "model").put("created", created)
                .put("owned_by", "moe4j");
    }

    // ---- generation ----

    private void generate(HttpExchange ex, boolean chat) {
        Ready r = ready;
        if (r == null) {
            ex.getResponseHeaders().set("Retry-After", "1");
            throw loadFailure != null ? new ApiException(503, "server_error", null, "model_failed",
                    "the model failed to load: " + loadFailure) : ApiException.loading();
        }
        // Full: refuse before reading or parsing anything, so a refusal costs the same whatever the body holds (a
        // malformed body gets its 400 when the client retries with room to spare).
        if (r.scheduler().full()) {
            refuse(ex, r.scheduler());
            return;
        }
        checkContentType(ex);
        JsonNode body = parse(readBody(ex));
        ApiRequest req = chat ? RequestParser.chat(body) : RequestParser.completion(body);
        if (req.model() != null && !req.model().equals(config.modelId())) {
            throw ApiException.modelNotFound(RequestParser.clip(req.model()), config.modelId());
        }
        int[] ids = promptIds(r, req);
        int context = r.generator().model().config().maxSeqLen();
        int maxTokens;
        if (req.maxTokens() != null) {
            maxTokens = req.maxTokens();
            if (ids.length <= context && (long) ids.length + maxTokens > context) {
                throw ApiException.invalid("max_tokens", "this model's context is "
                        + context + " tokens, but " + ids.length + " prompt tokens + max_tokens " + maxTokens
                        + " exceed it; ask for at most " + Math.max(0, context - ids.length) + " tokens");
            }
        } else {
            maxTokens = chat ? Math.max(1, context - ids.length) : DEFAULT_COMPLETION_TOKENS;
        }
        GenerationOptions options;
        try {
            options = new GenerationOptions(maxTokens, req.sampling(), req.stop(), req.ignoreEos());
        } catch (InvalidRequestException e) {
            throw ApiException.invalid(e.parameter(), e.getMessage());
        }
        Scheduler scheduler = r.scheduler();
        if (!scheduler.tryReserve()) { // filled up while this request was parsed
            refuse(ex, scheduler);
            return;
        }
        Job job = new Job(req, config.timeout().toNanos(), metrics);
        try {
            GenerationSequence s = r.generator().start(ids, options, job.listener());
            job.attach(s);
        } catch (InvalidRequestException e) {
            scheduler.release();
            throw ApiException.invalid(e.parameter(), e.getMessage());
        } catch (RuntimeException e) {
            scheduler.release();
            throw e;
        }
        scheduler.submit(job);
        if (DECISION.isBound()) decided(DECISION.get()); // accepted: what follows is waiting, not deciding
        if (req.stream()) stream(ex, job, scheduler);
        else respond(ex, job);
    }

    /**
     * Answers 429 with the prepared body (no exception, no JSON tree) and tells the scheduler, which then leaves
     * the CPUs to the refusals that follow (see {@link Scheduler#refused}).
     */
    private void refuse(HttpExchange ex, Scheduler scheduler) {
        scheduler.refused();
        metrics.count(Metrics.Outcome.REJECTED);
        ex.getResponseHeaders().set("Retry-After", "1");
        send(ex, 429, "application/json", overloadedBody);
    }

    private static int[] promptIds(Ready r, ApiRequest req) {
        if (req.promptIds() != null) return req.promptIds();
        String text = req.chat() ? r.chat().render(req.messages()) : req.promptText();
        String param = req.chat() ? "messages" : "prompt";
        if (r.generator().tokenizer().isEmpty()) {
            throw ApiException.invalid(param, "this model has no tokenizer; give the prompt as token ids");
        }
        try {
            return r.generator().encode(text);
        } catch (InvalidRequestException e) {
            throw ApiException.invalid(param, e.getMessage());
        }
    }

    private void respond(HttpExchange ex, Job job) {
        Job.Event last = awaitEnd(job);
        switch (last) {
            case Job.Done d -> sendJson(ex, 200, completion(job, d.result()));
            case Job.Failed f -> sendError(ex, f.error());
            case Job.Delta d -> throw new IllegalStateException("unreachable");
        }
    }

    private static Job.Event awaitEnd(Job job) {
        try {
            while (true) {
                Job.Event e = job.events.take();
                if (!(e instanceof Job.Delta)) return e;
            }
        } catch (InterruptedException e) { // the server is closing
            job.requestCancel();
            Thread.currentThread().interrupt();
            return new Job.Failed(new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down"));
        }
    }

    private void stream(HttpExchange ex, Job job, Scheduler scheduler) {
        ApiRequest req = job.request;
        String id = (req.chat() ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        long now = System.currentTimeMillis() / 1000;
        try {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-cache");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            if (req.chat()) {
                ObjectNode first = chunk(req, id, now);
                ((ObjectNode) first.withArray("choices").get(0).get("delta")).put("role", "assistant").put("content", "");
                event(out, first);
            }
            while (true) {
                Job.Event e;
                try {
                    e = job.events.take();
                } catch (InterruptedException ie) {
                    job.requestCancel();
                    Thread.currentThread().interrupt();
                    return;
                }
                switch (e) {
                    case Job.Delta d -> {
                        ObjectNode c = chunk(req, id, now);
                        ObjectNode choice = (ObjectNode) c.withArray("choices").get(0);
                        if (req.chat()) ((ObjectNode) choice.get("delta")).put("content", d.text());
                        else choice.put("text", d.text());
                        event(out, c);
                    }
                    case Job.Done d -> {
                        GenerationResult result = d.result();
                        ObjectNode c = chunk(req, id, now);
                        ObjectNode choice = (ObjectNode) c.withArray("choices").get(0);
                        choice.put("finish_reason", result.finishReason().apiName());
                        if (req.returnTokenIds()) tokenIds(choice, result.ids());
                        event(out, c);
                        if (req.includeUsage()) {
                            ObjectNode u = chunk(req, id, now);
                            u.putArray("choices");
                            u.set("usage", usage(result));
                            event(out, u);
                        }
                        done(out);
                        return;
                    }
                    case Job.Failed f -> {
                        event(out, errorBody(f.error()));
                        done(out);
                        return;
                    }
                }
            }
        } catch (IOException e) { // the client went away: free its slot before the next step
            job.requestCancel();
            scheduler.wake();
        }
    }

    private ObjectNode chunk(ApiRequest req, String id, long createdAt) {
        ObjectNode c = JSON.createObjectNode().put("id", id)
                .put("object", req.chat() ? "chat.completion.chunk" : "text_completion").put("created", createdAt)
                .put("model", config.modelId());
        ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
        if (req.chat()) choice.putObject("delta");
        else choice.put("text", "");
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        if (req.includeUsage()) c.putNull("usage");
        return c;
    }

    private static void event(OutputStream out, JsonNode data) throws IOException {
        out.write(("data: " + JSON.writeValueAsString(data) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void done(OutputStream out) throws IOException {
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private ObjectNode completion(Job job, GenerationResult result) {
        ApiRequest req = job.request;
        ObjectNode c = JSON.createObjectNode()
                .put("id", (req.chat() ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", ""))
                .put("object", req.chat() ? "chat.completion" : "text_completion")
                .put("created", System.currentTimeMillis() / 1000).put("model", config.modelId());
        ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
        if (req.chat()) choice.putObject("message").put("role", "assistant").put("content", result.text());
        else choice.put("text", result.text());
        choice.putNull("logprobs");
        choice.put("finish_reason", result.finishReason().apiName());
        if (req.returnTokenIds()) tokenIds(choice, result.ids());
        c.set("usage", usage(result));
        return c;
    }

    private static void tokenIds(ObjectNode choice, int[] ids) {
        ArrayNode a = choice.putArray("token_ids");
        for (int id : ids) a.add(id);
    }

    private static ObjectNode usage(GenerationResult r) {
        return JSON.createObjectNode().put("prompt_tokens", r.promptTokens())
                .put("completion_tokens", r.generatedTokens())
                .put("total_tokens", r.promptTokens() + r.generatedTokens());
    }

    // ---- request bodies ----

    private static void checkContentType(HttpExchange ex) {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type == null) return; // lenient: a body without a type is read as JSON
        String media = type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        if (!media.equals("application/json") && !media.endsWith("+json")) {
            throw ApiException.unsupportedMediaType(RequestParser.clip(type));
        }
    }

    private byte[] readBody(HttpExchange ex) {
        int limit = config.maxBodyBytes();
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            try {
                if (Long.parseLong(length.strip()) > limit) throw ApiException.tooLarge(limit);
            } catch (NumberFormatException e) {
                throw ApiException.invalid(null, "Content-Length is not a number");
            }
        }
        try (InputStream in = ex.getRequestBody()) {
            byte[] body = in.readNBytes(limit + 1);
            if (body.length > limit) throw ApiException.tooLarge(limit);
            return body;
        } catch (IOException e) {
            throw ApiException.invalid(null, "could not read the request body: " + e.getMessage());
        }
    }

    private static JsonNode parse(byte[] body) {
        if (body.length == 0) throw ApiException.invalid(null, "the request body is empty; send a JSON object");
        try {
            JsonNode n = JSON.readTree(body);
            if (n == null || !n.isObject()) throw ApiException.invalid(null, "the request body must be a JSON object");
            return n;
        } catch (IOException | RuntimeException e) {
            if (e instanceof ApiException a) throw a;
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
            throw ApiException.invalid(null, "the body is not valid JSON: " + RequestParser.clip(msg));
        }
    }

    // ---- responses ----

    private static ObjectNode errorBody(ApiException e) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode err = body.putObject("error");
        err.put("message", e.getMessage()).put("type", e.type());
        if (e.param() == null) err.putNull("param");
        else err.put("param", e.param());
        if (e.code() == null) err.putNull("code");
        else err.put("code", e.code());
        return body;
    }

    private static void sendError(HttpExchange ex, ApiException e) {
        sendJson(ex, e.status(), errorBody(e));
    }

    private static void sendJson(HttpExchange ex, int status, JsonNode body) {
        send(ex, status, "application/json", jsonBytes(body));
    }

    private static byte[] jsonBytes(JsonNode body) {
        try {
            return JSON.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes a whole response; a client that has gone away is ignored (there is no one left to tell). */
    private static void send(HttpExchange ex, int status, String type, byte[] body) {
        try {
            ex.getResponseHeaders().set("Content-Type", type);
            boolean head = ex.getRequestMethod().equals("HEAD");
            ex.sendResponseHeaders(status, head || body.length == 0 ? -1 : body.length);
            if (!head && body.length > 0) {
                OutputStream out = ex.getResponseBody();
                out.write(body);
                out.flush();
            }
        } catch (IOException e) {
            // the client closed the connection, or the headers were already sent (a stream): nothing to do
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
