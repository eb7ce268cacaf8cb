package org.moe4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Rng;
import org.moe4j.optim.Sgd;
import org.moe4j.tensor.Tensor;

/**
 * Kills a JVM that is saving checkpoints in a loop (SIGKILL, at seeded random moments), twice, resuming
 * in between; after each kill the latest checkpoint must load whole and consistent.
 */
class CheckpointCrashTest {
    @TempDir
    Path tmp;

    @Test
    void killingTheProcessMidSaveLeavesTheLatestCheckpointWhole() throws Exception {
        Path run = tmp.resolve("run");
        Rng delays = new Rng(7);
        long lastStep = 0;
        for (int round = 0; round < 2; round++) {
            Path log = tmp.resolve("child-" + round + ".log");
            Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    // a quick-starting JVM: the child only copies arrays and writes files
                    "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m",
                    "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                    CheckpointCrashChild.class.getName(), run.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                waitForANewCheckpoint(child, run, lastStep, log);
                Thread.sleep(50 + delays.nextInt(250));
                if (!child.isAlive()) fail("the child stopped by itself:\n" + Files.readString(log));
            } finally {
                child.destroyForcibly();
                assertTrue(child.waitFor(10, TimeUnit.SECONDS), "the child did not die");
            }
            long step = checkLatestIsWhole(run);
            assertTrue(step > lastStep, "round " + round + ": no progress past step " + lastStep);
            lastStep = step;
        }
    }

    private static void waitForANewCheckpoint(Process child, Path run, long after, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) fail("the child exited with " + child.exitValue() + ":\n" + Files.readString(log));
            // Only names are read here: the child prunes old checkpoints while we look.
            var latest = CheckpointStore.latestIn(run);
            if (latest.isPresent() && Long.parseLong(latest.get().getFileName().toString().substring(5)) > after) return;
            Thread.sleep(20);
        }
        fail("no checkpoint after 30 s:\n" + Files.readString(log));
    }

    /** The latest checkpoint loads, and every value in it is its own step: nothing from another save. */
    private static long checkLatestIsWhole(Path run) throws IOException {
        Checkpoint ck = Checkpoint.open(run);
        long step = ck.state().step();
        assertEquals(run.resolve(CheckpointStore.directoryName(step)), ck.dir());
        TinyModel model = new TinyModel(CheckpointCrashChild.CONFIG, 2);
        Sgd opt = new Sgd(model.parameters(), 0.1, 0.9, 0, false);
        ck.loadModel(model);
        ck.loadOptimizer(opt, model);
        assertEquals(step, opt.steps());
        for (var t : Checkpoint.modelTensors(model).entrySet()) assertAll(t.getKey(), t.getValue(), step);
        for (var t : opt.state().tensors().entrySet()) assertAll(t.getKey(), t.getValue(), step);
        try (Stream<Path> files = Files.list(run)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            System.out.println("after kill: latest step " + step + ", run directory " + names);
        }
        return step;
    }

    private static void assertAll(String name, Tensor t, long value) {
        for (float v : t.toFloatArray()) {
            if (v != value) fail("'" + name + "' holds " + v + " in the checkpoint of step " + value);
        }
    }
}
