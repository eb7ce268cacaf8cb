package org.moe4j.serve;

import java.time.Duration;
import org.moe4j.common.Moe4jException;

/**
 * How the server runs.
 *
 * @param host         the address to bind (127.0.0.1: this machine only)
 * @param port         the port; 0 picks a free one
 * @param maxBatch     the most sequences in one batched step, >= 1
 * @param maxQueue     the most requests waiting beyond the batch, >= 0; more get 429
 * @param timeout      the longest a request may take from acceptance to its end (then 504, or an error event)
 * @param apiKey       the bearer key every endpoint but /health requires, or null for none
 * @param maxBodyBytes the largest request body; larger gets 413
 * @param modelId      the model's name in the API ({@code model} of requests and /v1/models)
 */
public record ServerConfig(String host, int port, int maxBatch, int maxQueue, Duration timeout, String apiKey,
        int maxBodyBytes, String modelId) {
    /** The default body limit: 4 MiB, ample for any prompt a context window holds. */
    public static final int DEFAULT_MAX_BODY = 4 << 20;

    public ServerConfig {
        if (host == null || host.isBlank()) throw new Moe4jException("serve: --host is empty");
        if (port < 0 || port > 65_535) throw new Moe4jException("serve: --port must be in 0..65535, got " + port);
        if (maxBatch < 1) throw new Moe4jException("serve: --max-batch must be >= 1, got " + maxBatch);
        if (maxQueue < 0) throw new Moe4jException("serve: --max-queue must be >= 0, got " + maxQueue);
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new Moe4jException("serve: --timeout must be positive, got " + timeout);
        }
        if (apiKey != null && apiKey.isEmpty()) throw new Moe4jException("serve: --api-key is empty");
        if (maxBodyBytes < 1024) throw new Moe4jException("serve: the body limit must be >= 1024 bytes, got " + maxBodyBytes);
        if (modelId == null || modelId.isBlank()) throw new Moe4jException("serve: the model id is empty");
    }

    /** Loopback, a free port, batch 8, queue 32, 300 s timeout, no key, the default body limit. */
    public static ServerConfig local(String modelId) {
        return new ServerConfig("127.0.0.1", 0, 8, 32, Duration.ofSeconds(300), null, DEFAULT_MAX_BODY, modelId);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, maxBatch, maxQueue, timeout, apiKey, maxBodyBytes, modelId);
    }

    public ServerConfig withBatch(int batch, int queue) {
        return new ServerConfig(host, port, batch, queue, timeout, apiKey, maxBodyBytes, modelId);
    }

    public ServerConfig withTimeout(Duration t) {
        return new ServerConfig(host, port, maxBatch, maxQueue, t, apiKey, maxBodyBytes, modelId);
    }

    public ServerConfig withApiKey(String key) {
        return new ServerConfig(host, port, maxBatch, maxQueue, timeout, key, maxBodyBytes, modelId);
    }

    public ServerConfig withMaxBodyBytes(int n) {
        return new ServerConfig(host, port, maxBatch, maxQueue, timeout, apiKey, n, modelId);
    }

    /** Without the key itself. */
    @Override
    public String toString() {
        return "ServerConfig[host=" + host + ", port=" + port + ", maxBatch=" + maxBatch + ", maxQueue=" + maxQueue
                + ", timeout=" + timeout + ", apiKey=" + (apiKey == null ? "none" : "set") + ", maxBodyBytes="
                + maxBodyBytes + ", modelId=" + modelId + "]";
    }
}
