package org.moe4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.kernel.Parallel;

/** train, eval, inspect and report on a tiny language model over a small text. */
class LmTrainCommandTest {
    private final int threadsBefore = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(threadsBefore);
    }

    private static Path text(Path dir) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 80; i++) sb.append("  ").append(i + 1).append(" And God said, Let there be light: and there was light.\n");
        Path f = dir.resolve("t.txt");
        Files.writeString(f, sb);
        return f;
    }

    private static MainTest.Run train(Path text, Path out, String... extra) {
        String[] base = {"train", "--model", "moe-lm", "--data", "text:" + text, "--preset", "tiny", "--seq-len", "16",
                "--batch", "2", "--max-steps", "3", "--eval-tokens", "64", "--threads", "1", "--out", out.toString()};
        return MainTest.run(base, extra);
    }

    @Test
    void trainEvalInspectAndReport(@TempDir Path dir) throws Exception {
        Path text = text(dir);
        Path run = dir.resolve("run");
        Path html = dir.resolve("r.html");
        MainTest.Run t = train(text, run, "--report", html.toString());
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("max-steps after 3 steps") && t.out().contains("held-out bits per byte"), t.out());
        assertTrue(Files.isDirectory(run.resolve("ckpt-000003")));
        String page = Files.readString(html);
        assertTrue(page.contains("Bits per byte") && page.contains("Tokens each expert prefers")
                && page.contains("tokens per second"), "LM report sections");

        MainTest.Run e = MainTest.run("eval", "--checkpoint", run.toString(), "--json");
        assertEquals(0, e.code(), e.err());
        JsonNode j = new ObjectMapper().readTree(e.out());
        assertEquals(3, j.get("step").asLong());
        assertEquals("moe-lm", j.get("model").asText());
        double bpb = j.get("bitsPerByte").asDouble();
        assertTrue(bpb > 0 && bpb < 9, "bits per byte " + bpb);
        assertEquals(Math.exp(j.get("loss").asDouble()), j.get("perplexity").asDouble(), 1e-9);
        assertEquals(j.get("tokens").asLong(), j.get("bytes").asLong(), "byte tokenizer: a byte per token");

        MainTest.Run text1 = MainTest.run("eval", "--checkpoint", run.toString());
        assertTrue(text1.out().startsWith("held-out bits per byte"), text1.out());
        MainTest.Run i = MainTest.run("inspect", "--checkpoint", run.toString());
        assertEquals(0, i.code(), i.err());
        assertTrue(i.out().contains("layer layers.0.mlp") && i.out().contains("expert 3"), i.out());

        MainTest.Run r = MainTest.run("train", "--out", run.toString(), "--resume");
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void badFlagsAndFilesSayWhat(@TempDir Path dir) throws Exception {
        Path text = text(dir);
        MainTest.assertOneLineError(MainTest.run("train", "--data", "text:" + text, "--preset", "huge", "--out", dir.resolve("a").toString()),
                2, "--preset must be tiny or small");
        MainTest.assertOneLineError(train(text, dir.resolve("b"), "--top-k", "9"), 2, "--top-k");
        MainTest.assertOneLineError(train(text, dir.resolve("w"), "--width", "64"), 2, "sizes come from --preset");
        MainTest.assertOneLineError(train(text, dir.resolve("c"), "--tokenizer", dir.resolve("none.json").toString()), 1, "no such file");
        MainTest.assertOneLineError(train(dir.resolve("missing.txt"), dir.resolve("d")), 1, "no such file");
        MainTest.assertOneLineError(MainTest.run("train", "--model", "dense-lm", "--data", "bundled:fashion-mnist-small", "--out",
                dir.resolve("e").toString()), 2, "text:");
        MainTest.assertOneLineError(MainTest.run("train", "--model", "moe-mlp", "--data", "bundled:fashion-mnist-small", "--preset",
                "tiny", "--out", dir.resolve("f").toString()), 2, "language models");
        MainTest.assertOneLineError(MainTest.run("train", "--data", "text:" + text, "--preset", "tiny", "--seq-len", "0", "--out",
                dir.resolve("g").toString()), 2, "--seq-len");
    }
}
