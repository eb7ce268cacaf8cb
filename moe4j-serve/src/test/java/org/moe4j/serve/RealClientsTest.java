package org.moe4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Clients we did not write, pointed at the server: the official openai npm package and LangChain4j's OpenAI model. */
class RealClientsTest {
    static final String MODEL = "tiny-real";
    static final String KEY = "test-key";
    static Moe4jServer server;

    @BeforeAll
    static void start() {
        server = Moe4jServer.start(ServerConfig.local(MODEL).withApiKey(KEY), () -> TinyModels.tiny(128, 5));
        server.awaitLoaded();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** The server's own greedy answer to a chat, to hold the clients' results to. */
    static String greedyChat(String system, String user, int maxTokens) {
        String body = "{\"messages\":[{\"role\":\"system\",\"content\":" + Moe4jServer.JSON.valueToTree(system)
                + "},{\"role\":\"user\",\"content\":" + Moe4jServer.JSON.valueToTree(user) + "}],\"max_tokens\":"
                + maxTokens + ",\"temperature\":0}";
        return Http.json(Http.post(server, "/v1/chat/completions", body, "Authorization", "Bearer " + KEY))
                .get("choices").get(0).get("message").get("content").asText();
    }

    @Test
    void langChain4jChatsAndStreams() throws Exception {
        String expected = greedyChat("Be brief.", "Hello", 8);
        OpenAiChatModel chat = OpenAiChatModel.builder().baseUrl(server.baseUri().toString()).apiKey(KEY)
                .modelName(MODEL).temperature(0.0).maxTokens(8).timeout(Duration.ofSeconds(30)).maxRetries(0).build();
        ChatResponse r = chat.chat(dev.langchain4j.data.message.SystemMessage.from("Be brief."),
                dev.langchain4j.data.message.UserMessage.from("Hello"));
        assertEquals(expected, r.aiMessage().text());
        assertTrue(r.tokenUsage().outputTokenCount() > 0);

        OpenAiStreamingChatModel streaming = OpenAiStreamingChatModel.builder().baseUrl(server.baseUri().toString())
                .apiKey(KEY).modelName(MODEL).temperature(0.0).maxTokens(8).timeout(Duration.ofSeconds(30)).build();
        StringBuilder partial = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat(List.of(dev.langchain4j.data.message.SystemMessage.from("Be brief."),
                dev.langchain4j.data.message.UserMessage.from("Hello")), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String text) {
                partial.append(text);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse streamed = done.get(30, TimeUnit.SECONDS);
        assertEquals(expected, partial.toString());
        assertEquals(expected, streamed.aiMessage().text());
    }

    @Test
    void theOfficialOpenAiNodePackage() throws Exception {
        Assumptions.assumeTrue(runs("node", "--version") && runs("npm", "--version"),
                "node and npm are not installed: skipping the openai npm client test (install Node 20+ to run it)");
        Path src = Path.of("src/test/node");
        Path work = Files.createDirectories(Path.of("target/node-client"));
        boolean fresh = !Files.exists(work.resolve("package-lock.json")) || Files.mismatch(src.resolve("package-lock.json"),
                work.resolve("package-lock.json")) != -1 || !Files.isDirectory(work.resolve("node_modules/openai"));
        for (String f : List.of("package.json", "package-lock.json", "client.mjs")) {
            Files.copy(src.resolve(f), work.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        if (fresh) { // once per build directory: npm ci needs the registry the first time
            String out = run(work, 180, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error");
            assertTrue(Files.isDirectory(work.resolve("node_modules/openai")), "npm ci did not install openai: " + out);
        }
        String out = run(work, 60, "node", "client.mjs", server.baseUri().toString(), MODEL);
        JsonNode r = Http.json0(out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow(
                () -> new AssertionError("no JSON line from the node client: " + out)));
        String expected = greedyChat("Be brief.", "Hello", 8);
        assertEquals(expected, r.get("chat").asText());
        assertEquals(expected, r.get("streamed").asText());
        assertFalse(r.get("chatFinish").isNull());
        assertEquals(r.get("chatFinish"), r.get("streamFinish"));
        assertEquals(r.get("chatUsage"), r.get("streamUsage"));
        assertTrue(r.get("completion").isTextual());
        assertEquals(9, r.get("completionUsage").get("prompt_tokens").asInt());
    }

    private static boolean runs(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Runs {@code command} in {@code dir}; its output, or a failure naming the command, its status and output. */
    private static String run(Path dir, int seconds, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(output unreadable: " + e + ")";
            }
        });
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " took over " + seconds + " s");
        }
        String out = output.get(10, TimeUnit.SECONDS);
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
        return out;
    }
}
