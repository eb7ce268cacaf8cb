package org.moe4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.Checkpoint;
import org.moe4j.io.CheckpointStore;
import org.moe4j.moe.Router;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;
import org.moe4j.train.data.Dataset;
import org.moe4j.train.progress.MetricsLog;
import org.moe4j.train.progress.MetricsRecord;

class TrainerTest {
    private static final Dataset TRAIN = TinyMoe.data(200, 1);
    private static final Dataset TEST = TinyMoe.data(90, 2);

    /** 3 epochs of 7 batches (the last partial), so a resume at step 9 lands mid-epoch. */
    private static TrainConfig config() {
        return TrainConfig.defaults(3, 32, 0.01, 42).withWarmup(3).withCheckpointEvery(3);
    }

    private static Map<String, float[]> weights(Module m) {
        Map<String, float[]> w = new java.util.LinkedHashMap<>();
        m.namedParameters().forEach((k, v) -> w.put(k, v.value().toFloatArray()));
        m.namedBuffers().forEach((k, v) -> w.put("buffer " + k, v.toFloatArray()));
        return w;
    }

    private static void assertBitIdentical(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            float[] x = a.get(k), y = b.get(k);
            assertEquals(x.length, y.length, k);
            for (int i = 0; i < x.length; i++) {
                assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]), k + "[" + i + "]");
            }
        }
    }

    @Test
    void trainsAndLearns() {
        TinyMoe m = new TinyMoe(6, 3, "topk", 7);
        double before = Evaluator.evaluate(m, TEST, 64).accuracy();
        TrainResult r = new Trainer(m, TrainConfig.defaults(5, 16, 0.01, 3).withWarmup(5), TRAIN, TEST, "test").run();
        assertEquals("completed", r.status());
        assertEquals(5 * 13, r.steps());
        assertTrue(r.evalAccuracy() > 0.7 && r.evalAccuracy() > before, "accuracy " + before + " -> " + r.evalAccuracy());
        Evaluator.Result e = Evaluator.evaluate(m, TEST, 64);
        assertEquals(r.evalAccuracy(), e.accuracy());
        assertEquals(1, e.classExpert().size());
        long[][] counts = e.classExpert().getFirst().counts();
        long total = 0;
        for (long[] row : counts) for (long c : row) total += c;
        assertEquals(2L * TEST.size(), total, "top-2: two assignments per example");
    }

    @Test
    void sgdWithMomentumLowersTheLoss() {
        TinyMoe m = new TinyMoe(6, 3, "topk", 7);
        double before = Evaluator.evaluate(m, TEST, 64).loss();
        TrainConfig c = TrainConfig.defaults(4, 16, 0.1, 3).withOptimizer("sgd", 0.9).withWarmup(5);
        Trainer t = new Trainer(m, c, TRAIN, TEST, "test");
        assertTrue(t.optimizer() instanceof org.moe4j.optim.Sgd);
        TrainResult r = t.run();
        assertTrue(r.evalLoss() < before - 0.03, "loss " + before + " -> " + r.evalLoss());
    }

    @Test
    void resumeIsBitIdenticalToAStraightRun(@TempDir Path dir) {
        // Straight: 18 steps.
        TinyMoe straight = new TinyMoe(6, 3, "sigmoid-bias", 7);
        new Trainer(straight, config().withMaxSteps(18), TRAIN, TEST, "test").output(dir.resolve("a"), "cfg").run();

        // 9 steps, then a fresh model and trainer resume to 18.
        Path b = dir.resolve("b");
        TinyMoe first = new TinyMoe(6, 3, "sigmoid-bias", 7);
        TrainResult half = new Trainer(first, config().withMaxSteps(18), TRAIN, TEST, "test").output(b, "cfg")
                .pauseAfter(9).run();
        assertEquals(9, half.steps());
        assertEquals("paused at step 9", half.status());
        TinyMoe resumed = new TinyMoe(6, 3, "sigmoid-bias", 99); // other initial weights: all must come from the checkpoint
        TrainResult r = new Trainer(resumed, config().withMaxSteps(18), TRAIN, TEST, "test").output(b, "cfg").resume();
        assertEquals(18, r.steps());

        assertBitIdentical(weights(straight), weights(resumed));
        assertArrayEquals(straight.routers().get("moe").selectionBias(), resumed.routers().get("moe").selectionBias());
        assertTrue(java.util.Arrays.stream(resumed.routers().get("moe").selectionBias()).anyMatch(v -> v != 0),
                "the sigmoid-bias router's bias moved, so its restore is tested");
        // The resumed log reads as one run: steps 1..18 once each, one summary at the end.
        List<MetricsRecord> log = MetricsLog.readRecords(b.resolve(Trainer.METRICS));
        assertEquals(18, log.stream().filter(x -> x instanceof MetricsRecord.Step).count());
        assertEquals(1, log.stream().filter(x -> x instanceof MetricsRecord.Summary).count());
        List<MetricsRecord> straightLog = MetricsLog.readRecords(dir.resolve("a").resolve(Trainer.METRICS));
        List<Double> l1 = straightLog.stream().filter(x -> x instanceof MetricsRecord.Step).map(x -> ((MetricsRecord.Step) x).loss()).toList();
        List<Double> l2 = log.stream().filter(x -> x instanceof MetricsRecord.Step).map(x -> ((MetricsRecord.Step) x).loss()).toList();
        assertEquals(l1, l2);
    }

    /** A config whose serialization fails on demand: the save dies after the weights and optimizer are written. */
    record FragileConfig(String name) {
        static volatile boolean broken;

        @Override
        public String name() {
            if (broken) throw new IllegalStateException("simulated crash while saving");
            return name;
        }
    }

    @Test
    void aSaveKilledHalfWayResumesFromTheLastWholeCheckpoint(@TempDir Path dir) throws IOException {
        TinyMoe straight = new TinyMoe(6, 3, "topk", 5);
        new Trainer(straight, config().withMaxSteps(12), TRAIN, TEST, "test").run();

        // Steps 3 and 6 are saved; from step 7 on the config cannot be serialized, so the save at the end of the
        // first epoch (step 7) dies after writing the weights and the optimizer state.
        TinyMoe first = new TinyMoe(6, 3, "topk", 5);
        FragileConfig.broken = false;
        try {
            Trainer killed = new Trainer(new BreakAfter(first, 7), config().withMaxSteps(12), TRAIN, TEST, "test")
                    .output(dir, new FragileConfig("x"));
            Moe4jException e = assertThrows(Moe4jException.class, killed::run);
            assertTrue(e.getMessage().contains("simulated crash"), e.getMessage());
        } finally {
            FragileConfig.broken = false;
        }
        // What a kill (rather than an exception) leaves behind: a half-written directory for step 7.
        Files.createDirectories(dir.resolve("ckpt-000007.tmp"));
        Files.writeString(dir.resolve("ckpt-000007.tmp").resolve(Checkpoint.MODEL), "partial");
        CheckpointStore store = new CheckpointStore(dir, 3);
        assertEquals(dir.resolve("ckpt-000006"), store.latest().orElseThrow());

        TinyMoe resumed = new TinyMoe(6, 3, "topk", 77);
        TrainResult r = new Trainer(resumed, config().withMaxSteps(12), TRAIN, TEST, "test")
                .output(dir, new FragileConfig("x")).resume();
        assertEquals(12, r.steps());
        assertBitIdentical(weights(straight), weights(resumed));
        assertEquals(dir.resolve("ckpt-000012"), store.latest().orElseThrow());
    }

    /** The tiny model, whose forward breaks the run's config serialization from step {@code n} on. */
    private record BreakAfter(TinyMoe model, int n, int[] calls) implements TrainableModel {
        BreakAfter(TinyMoe model, int n) {
            this(model, n, new int[1]);
        }

        @Override
        public Module module() {
            return model;
        }

        @Override
        public Output forward(Variable x, RoutingContext ctx) {
            if (ctx.training() && ++calls[0] >= n) FragileConfig.broken = true;
            return model.forward(x, ctx);
        }
    }

    /** The tiny model with NaN logits from training step {@code n} on. */
    private record NanAt(TinyMoe model, int n, int[] calls) implements TrainableModel {
        NanAt(TinyMoe model, int n) {
            this(model, n, new int[1]);
        }

        @Override
        public Module module() {
            return model;
        }

        @Override
        public Output forward(Variable x, RoutingContext ctx) {
            Output o = model.forward(x, ctx);
            if (!ctx.training() || ++calls[0] < n) return o;
            return new Output(Arith.mulScalar(o.logits(), Double.NaN), o.auxLoss(), o.stats());
        }
    }

    @Test
    void aNanLossStopsWithAMessageAndNoNanCheckpoint(@TempDir Path dir) {
        TinyMoe m = new TinyMoe(6, 3, "topk", 5);
        Trainer t = new Trainer(new NanAt(m, 5), config().withMaxSteps(12), TRAIN, TEST, "test").output(dir, "cfg");
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, t::run);
        assertEquals(5, e.step());
        assertTrue(e.getMessage().contains("loss is NaN at step 5"), e.getMessage());
        assertTrue(e.getMessage().contains("last checkpoint (step 3)"), e.getMessage());
        for (float[] w : weights(m).values()) for (float v : w) assertTrue(Float.isFinite(v));
        CheckpointStore store = new CheckpointStore(dir, 3);
        assertEquals(List.of(dir.resolve("ckpt-000003")), store.checkpoints());
        List<MetricsRecord> log = MetricsLog.readRecords(dir.resolve(Trainer.METRICS));
        MetricsRecord.Summary s = (MetricsRecord.Summary) log.getLast();
        assertTrue(s.status().startsWith("stopped: the loss is NaN"), s.status());
    }

    @Test
    void aLossSpikeStops() {
        TinyMoe m = new TinyMoe(6, 3, "topk", 5);
        // Logits scaled by 1e4 from step 8 on: a huge but finite loss, far above the running median.
        TrainableModel spiky = new TrainableModel() {
            int calls;

            @Override
            public Module module() {
                return m;
            }

            @Override
            public Output forward(Variable x, RoutingContext ctx) {
                Output o = m.forward(x, ctx);
                if (!ctx.training() || ++calls < 8) return o;
                return new Output(Arith.mulScalar(o.logits(), 1e4), o.auxLoss(), o.stats());
            }
        };
        Trainer t = new Trainer(spiky, config().withSpike(5, 4), TRAIN, TEST, "test");
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, t::run);
        assertEquals(8, e.step());
        assertTrue(e.getMessage().contains("spiked"), e.getMessage());
        assertFalse(e.getMessage().contains("resume from it"), "no output directory, no checkpoint to name");
    }
}
