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

/** train, eval, inspect and report on tiny runs over the bundled data. */
class TrainCommandTest {
    private final int threadsBefore = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(threadsBefore);
    }

    private static MainTest.Run train(Path out, String... extra) {
        return trainModel("moe-mlp", out, extra);
    }

    private static MainTest.Run trainModel(String model, Path out, String... extra) {
        String[] base = {"train", "--model", model, "--data", "bundled:fashion-mnist-small", "--experts", "4",
                "--top-k", "2", "--width", "16", "--hidden", "16", "--batch", "50", "--max-steps", "6", "--warmup", "2",
                "--threads", "1", "--out", out.toString()};
        return MainTest.run(base, extra);
    }

    @Test
    void trainEvalInspectAndReport(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        Path html = dir.resolve("r.html");
        MainTest.Run t = train(run, "--report", html.toString());
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("max-steps after 6 steps"), t.out());
        assertTrue(t.out().contains("test accuracy"), t.out());
        assertTrue(Files.isRegularFile(run.resolve("metrics.jsonl")));
        assertTrue(Files.isDirectory(run.resolve("ckpt-000006")));
        String page = Files.readString(html);
        assertTrue(page.startsWith("<!DOCTYPE html>") && page.contains("Trouser"), "class names reach the heatmap");

        MainTest.Run e = MainTest.run("eval", "--checkpoint", run.toString(), "--json");
        assertEquals(0, e.code(), e.err());
        JsonNode j = new ObjectMapper().readTree(e.out());
        assertEquals(1000, j.get("examples").asInt());
        assertEquals(6, j.get("step").asInt());
        assertEquals("test", j.get("split").asText());
        double acc = j.get("accuracy").asDouble();
        assertTrue(acc > 0.1 && acc <= 1, "six steps beat chance: " + acc);
        // eval reproduces what training reported at its end
        assertTrue(t.out().contains(String.format(java.util.Locale.ROOT, "test accuracy %.2f%%", 100 * acc)), t.out());

        MainTest.Run i = MainTest.run("inspect", "--checkpoint", run.toString());
        assertEquals(0, i.code(), i.err());
        assertTrue(i.out().matches("(?s).*\\nlayer \\S+ \\(router topk\\): 1,000 examples.*"), i.out());
        assertTrue(i.out().contains("class x expert, layer "), i.out());
        assertTrue(i.out().contains("Ankle boot"), i.out());

        Path other = dir.resolve("other.html");
        MainTest.Run r = MainTest.run("report", "--checkpoint", run.resolve("ckpt-000006").toString(), "--out", other.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.readString(other).contains("moe-mlp on bundled:fashion-mnist-small"));
    }

    @Test
    void aDenseCnnTrainsWithAugmentation(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("cnn");
        MainTest.Run t = trainModel("dense-cnn-total", run, "--trunk", "4,8", "--augment-padding", "2", "--flip");
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().startsWith("dense-cnn-total on bundled:fashion-mnist-small"), t.out());
        assertTrue(t.out().contains("max-steps after 6 steps"), t.out());
        JsonNode train = new ObjectMapper().readTree(run.resolve("ckpt-000006/config.json").toFile()).findValue("train");
        assertEquals(2, train.get("augment_padding").asInt(), train.toString());
        assertTrue(train.get("horizontal_flip").asBoolean(), train.toString());
        MainTest.assertOneLineError(train(dir.resolve("mlp"), "--flip"), 1, "augmentation needs images");
    }

    @Test
    void aSigmoidBiasMoeCnnSavesItsRouterBiases(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("cnn");
        MainTest.Run t = trainModel("moe-cnn", run, "--trunk", "4,8", "--router", "sigmoid-bias");
        assertEquals(0, t.code(), t.err());
        String state = Files.readString(run.resolve("ckpt-000006/state.json"));
        assertTrue(state.contains("router_bias.head.moe0"), "the DeepSeek-V3 selection biases are saved: " + state);
    }

    @Test
    void resumeContinuesTheSavedRun(@TempDir Path dir) {
        Path run = dir.resolve("run");
        assertEquals(0, train(run, "--checkpoint-every", "2").code());
        MainTest.Run again = MainTest.run("train", "--out", run.toString(), "--resume", "--threads", "1");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("after 6 steps"), again.out());
    }

    @Test
    void badFlagsAndPathsGiveOneLineErrors(@TempDir Path dir) {
        MainTest.assertOneLineError(trainModel("resnet", dir.resolve("a")), 2, "--model resnet");
        MainTest.assertOneLineError(train(dir.resolve("b"), "--top-k", "9"), 2, "--top-k");
        MainTest.assertOneLineError(train(dir.resolve("c"), "--router", "nope"), 2, "nope");
        MainTest.assertOneLineError(MainTest.run("train", "--out", dir.resolve("d").toString()), 2, "--data is required");
        MainTest.assertOneLineError(MainTest.run("train", "--data", "nowhere:x", "--out", dir.toString()), 1, "unknown kind");
        MainTest.assertOneLineError(MainTest.run("eval", "--checkpoint", dir.resolve("missing").toString()), 1, "not a directory");
        MainTest.assertOneLineError(MainTest.run("inspect", "--checkpoint", dir.toString()), 1, "holds no checkpoint");
        MainTest.assertOneLineError(MainTest.run("train", "--out", dir.resolve("e").toString(), "--resume"), 1, "not a run directory");
    }
}
