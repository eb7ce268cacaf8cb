package org.moe4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.moe4j.infer.ChatTemplate;
import org.moe4j.infer.ModelLoader;
import org.moe4j.serve.ChatFormatter;
import org.moe4j.serve.Moe4jServer;
import org.moe4j.serve.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code moe4j serve}: the OpenAI-compatible HTTP server; runs until interrupted (Ctrl-C). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model over an OpenAI-compatible HTTP API (/v1/models, /v1/completions,"
                + " /v1/chat/completions, /health, /metrics) with continuous batching.",
            "The port opens at once; /health answers 503 until the model has loaded."})
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "A moe4j checkpoint or run directory (its latest checkpoint), a Hugging Face model directory or a GGUF file.")
    Path model;

    @Option(names = "--model-id", description = "The model's name in the API (default: the directory's name).")
    String modelId;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default ${DEFAULT-VALUE}: this machine only).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--max-batch", defaultValue = "8", description = "Most sequences per batched step (default ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-queue", defaultValue = "32", description = "Most requests waiting beyond the batch; more get 429 (default ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--timeout", defaultValue = "300", paramLabel = "S",
            description = "Seconds a request may take from acceptance to its end; then 504 (default ${DEFAULT-VALUE}).")
    long timeout;

    @Option(names = "--api-key", defaultValue = "${env:MOE4J_API_KEY}",
            description = "Require 'Authorization: Bearer KEY' on all but /health (default: $MOE4J_API_KEY, else none).")
    String apiKey;

    @Override
    public Integer call() throws InterruptedException {
        String id = modelId != null ? modelId : model.toAbsolutePath().normalize().getFileName().toString();
        ServerConfig config = new ServerConfig(host, port, maxBatch, maxQueue, Duration.ofSeconds(timeout),
                apiKey == null || apiKey.isEmpty() ? null : apiKey, ServerConfig.DEFAULT_MAX_BODY, id);
        PrintWriter err = spec.commandLine().getErr();
        Moe4jServer server = Moe4jServer.start(config, () -> ModelLoader.load(model),
                loaded -> ChatFormatter.of(ChatTemplate.forModel(model)));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "moe4j-serve-shutdown"));
        err.println("moe4j serve: listening on " + server.baseUri() + " (model '" + id + "' loading…)");
        err.flush();
        try {
            server.awaitLoaded();
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        err.println("moe4j serve: ready; " + config.maxBatch() + " per batch, " + config.maxQueue() + " queued"
                + (config.apiKey() == null ? "" : ", API key required"));
        err.flush();
        stopped.await();
        return 0;
    }
}
