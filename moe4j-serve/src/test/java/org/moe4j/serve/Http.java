package org.moe4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A small HTTP client for the tests. */
final class Http {
    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private Http() {}

    static URI root(Moe4jServer server) {
        return URI.create("http://127.0.0.1:" + server.port());
    }

    static HttpResponse<String> send(Moe4jServer server, String method, String path, String contentType, byte[] body,
            String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(root(server).resolve(path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) b.header("Content-Type", contentType);
        if (headers.length > 0) b.headers(headers);
        try {
            return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static HttpResponse<String> post(Moe4jServer server, String path, String json, String... headers) {
        return send(server, "POST", path, "application/json", json.getBytes(java.nio.charset.StandardCharsets.UTF_8), headers);
    }

    static HttpResponse<String> get(Moe4jServer server, String path, String... headers) {
        return send(server, "GET", path, null, null, headers);
    }

    static JsonNode json(HttpResponse<String> r) {
        try {
            return Moe4jServer.JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + r.body(), e);
        }
    }

    static JsonNode json0(String text) {
        try {
            return Moe4jServer.JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The JSON payloads of an SSE body, up to and without {@code [DONE]}, which must end it. */
    static List<JsonNode> events(String sse) {
        List<JsonNode> out = new ArrayList<>();
        boolean done = false;
        for (String block : sse.split("\n\n")) {
            if (block.isBlank()) continue;
            if (done) throw new AssertionError("data after [DONE]: " + block);
            if (!block.startsWith("data: ")) throw new AssertionError("not an SSE data line: " + block);
            String data = block.substring(6);
            if (data.equals("[DONE]")) {
                done = true;
                continue;
            }
            try {
                out.add(Moe4jServer.JSON.readTree(data));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (!done) throw new AssertionError("the stream did not end with [DONE]: " + sse);
        return out;
    }

    /** Polls until {@code condition} holds, for up to {@code millis}. */
    static boolean eventually(long millis, java.util.function.BooleanSupplier condition) {
        long end = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < end) {
            if (condition.getAsBoolean()) return true;
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return condition.getAsBoolean();
    }
}
