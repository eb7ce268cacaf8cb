package org.moe4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.autograd.GradMode;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.Checkpoint;
import org.moe4j.io.tokenizer.BpeTokenizer;
import org.moe4j.io.tokenizer.BpeTrainer;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.io.tokenizer.TokenizerJson;
import org.moe4j.model.TransformerLm;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;
import org.moe4j.train.data.TextData;
import org.moe4j.train.data.TextWindows;
import org.moe4j.train.progress.MetricsLog;
import org.moe4j.train.progress.MetricsRecord;

class LmTrainingTest {
    /** A text with structure a tiny model picks up in a few dozen steps, and some variety so windows differ. */
    static String text(int verses) {
        StringBuilder sb = new StringBuilder();
        String[] names = {"Adam", "Seth", "Enos", "Cainan", "Mahalaleel", "Jared", "Enoch"};
        for (int i = 0; i < verses; i++) {
            sb.append("  ").append(i + 1).append(" And ").append(names[i % names.length]).append(" lived and begat ")
                    .append(names[(i + 1) % names.length]).append(".\n");
        }
        return sb.toString();
    }

    static LmRunConfig config(String model, Tokenizer tok, int seq, int batch, long steps, long seed) {
        return LmTraining.config(model, "text:test", tok, null, "tiny", null, null, null, seq, batch, steps, 0.01, seed);
    }

    private static Map<String, float[]> weights(Module m) {
        Map<String, float[]> w = new LinkedHashMap<>();
        m.namedParameters().forEach((k, v) -> w.put(k, v.value().toFloatArray()));
        return w;
    }

    @Test
    void resumeIsBitIdenticalToAStraightRun(@TempDir Path dir) {
        TextData data = TextData.of("test", text(200).getBytes(StandardCharsets.UTF_8), new ByteTokenizer());
        LmRunConfig c = config("moe-lm", new ByteTokenizer(), 16, 4, 8, 5);
        c = new LmRunConfig(c.model(), c.data(), c.tokenizer(), null, c.preset(),
                c.transformer().withRouter("sigmoid-bias").withLossWeights(0, 0), c.seqLen(), 64, 3, c.train());
        LmTask straight = LmTraining.task(c, data);
        new Trainer(straight, c.train()).output(dir.resolve("a"), c).run();

        Path b = dir.resolve("b");
        TrainResult half = new Trainer(LmTraining.task(c, data), c.train()).output(b, c).pauseAfter(4).run();
        assertEquals(4, half.steps());
        LmRunConfig other = new LmRunConfig(c.model(), c.data(), c.tokenizer(), null, c.preset(), c.transformer(), c.seqLen(),
                c.evalTokens(), c.evalEvery(), c.train());
        LmTask resumed = new LmTask(new TransformerLm(c.transformer(), new org.moe4j.common.Rng(99)), data, other);
        TrainResult r = new Trainer(resumed, c.train()).output(b, c).resume();
        assertEquals(8, r.steps());

        Map<String, float[]> x = weights(straight.model()), y = weights(resumed.model());
        assertEquals(x.keySet(), y.keySet());
        for (String k : x.keySet()) {
            float[] p = x.get(k), q = y.get(k);
            for (int i = 0; i < p.length; i++) {
                assertEquals(Float.floatToRawIntBits(p[i]), Float.floatToRawIntBits(q[i]), k + "[" + i + "]");
            }
        }
        double[] bias = straight.routers().get("layers.0.mlp").selectionBias();
        assertArrayEquals(bias, resumed.routers().get("layers.0.mlp").selectionBias());
        assertTrue(java.util.Arrays.stream(bias).anyMatch(v -> v != 0), "the bias moved, so its restore is tested");
        List<MetricsRecord> log = MetricsLog.readRecords(b.resolve(Trainer.METRICS));
        List<Double> bpb = log.stream().filter(s -> s instanceof MetricsRecord.Step).map(s -> ((MetricsRecord.Step) s).bitsPerByte()).toList();
        assertEquals(8, bpb.size());
        assertTrue(bpb.stream().allMatch(v -> v > 0 && v < 10), bpb.toString());
        assertTrue(log.stream().anyMatch(e -> e instanceof MetricsRecord.Eval ev && ev.step() == 3 && ev.bitsPerByte() > 0),
                "evaluated every 3 steps");
    }

    @Test
    void uniformLogitsGiveLog2VocabBitsPerToken() {
        for (Tokenizer tok : List.<Tokenizer>of(new ByteTokenizer(), BpeTrainer.train(text(60), 300, Tokenizer.DEFAULT_SPECIALS))) {
            TextData data = TextData.of("test", text(120).getBytes(StandardCharsets.UTF_8), tok);
            LmRunConfig c = config("moe-lm", tok, 8, 3, 1, 1);
            LmTask task = LmTraining.task(c, data);
            // A zero head makes every logit 0: each token costs ln V nats whatever the model computes before it.
            org.moe4j.tensor.Tensor w = task.model().head().weight().value();
            java.util.Arrays.fill(w.floats(), w.offset(), w.offset() + w.numel(), 0f);
            LmEvaluator.Result r = task.evaluate(false);
            int v = tok.vocabSize();
            int[] held = data.heldOut();
            long windows = (held.length - 1) / 8;
            long bytes = 0;
            for (int i = 1; i <= windows * 8; i++) bytes += tok.tokenBytes(held[i]).length;
            assertEquals(windows * 8, r.tokens());
            assertEquals(bytes, r.bytes());
            assertEquals(Math.log(v), r.loss(), 1e-5);
            assertEquals(v, r.perplexity(), 1e-3 * v);
            assertEquals(r.tokens() * Math.log(v) / Math.log(2) / bytes, r.bitsPerByte(), 1e-5);
            if (tok instanceof ByteTokenizer) {
                assertEquals(Math.log(v) / Math.log(2), r.bitsPerByte(), 1e-5, "one byte per token");
            } else {
                assertTrue(bytes > r.tokens(), "BPE tokens span several bytes: " + bytes + " bytes, " + r.tokens() + " tokens");
            }
        }
    }

    @Test
    void heldOutIsTheLastFivePercentCutAtATokenBoundary() {
        BpeTokenizer bpe = BpeTrainer.train(text(60), 320, Tokenizer.DEFAULT_SPECIALS);
        byte[] bytes = text(300).getBytes(StandardCharsets.UTF_8);
        TextData d = TextData.of("test", bytes, bpe);
        int[] all = bpe.encodeOrdinary(text(300));
        int[] joined = new int[d.train().length + d.heldOut().length];
        System.arraycopy(d.train(), 0, joined, 0, d.train().length);
        System.arraycopy(d.heldOut(), 0, joined, d.train().length, d.heldOut().length);
        assertArrayEquals(all, joined, "train and held-out are the whole text's tokens");
        long trainBytes = d.bytesOf(d.train(), 0, d.train().length);
        assertTrue(trainBytes >= 0.95 * bytes.length, trainBytes + " of " + bytes.length);
        assertTrue(trainBytes - bpe.tokenBytes(d.train()[d.train().length - 1]).length < 0.95 * bytes.length,
                "the first token starting at or after 95% begins the held-out part");
        assertEquals(bytes.length, trainBytes + d.bytesOf(d.heldOut(), 0, d.heldOut().length));
    }

    @Test
    void windowsRestoreToTheSamePosition() {
        int[] tokens = new int[500];
        for (int i = 0; i < tokens.length; i++) tokens[i] = i % 251;
        TextWindows a = new TextWindows(tokens, 3, 10, 7);
        int per = a.batchesPerEpoch();
        assertEquals(499 / 30, per);
        for (int i = 0; i < per + 2; i++) {
            if (!a.hasNext()) a.nextEpoch();
            a.next();
        }
        TextWindows b = new TextWindows(tokens, 3, 10, 7);
        b.restore(a.epoch(), a.cursor());
        for (int i = 0; i < per + 3; i++) {
            if (!a.hasNext()) {
                a.nextEpoch();
                b.nextEpoch();
            }
            TextWindows.LmBatch x = a.next(), y = b.next();
            assertArrayEquals(x.inputs().data(), y.inputs().data());
            assertArrayEquals(x.targets().data(), y.targets().data());
            for (int j = 0; j < x.inputs().numel(); j++) {
                assertEquals((x.inputs().data()[j] + 1) % 251, x.targets().data()[j], "targets are the next tokens");
            }
        }
        TextWindows other = new TextWindows(tokens, 3, 10, 8);
        assertFalse(java.util.Arrays.equals(new TextWindows(tokens, 3, 10, 7).next().inputs().data(), other.next().inputs().data()),
                "the seed chooses the windows");
        assertThrows(Moe4jException.class, () -> b.restore(0, per + 1));
        assertThrows(Moe4jException.class, () -> new TextWindows(new int[10], 2, 10, 1));
    }

    @Test
    void aTinyLmLearnsARepetitiveText() {
        TextData data = TextData.of("test", text(300).getBytes(StandardCharsets.UTF_8), new ByteTokenizer());
        LmRunConfig c = config("moe-lm", new ByteTokenizer(), 32, 4, 20, 3);
        LmTask task = LmTraining.task(c, data);
        double before = task.evaluate(false).bitsPerByte();
        TrainResult r = new Trainer(task, c.train()).run();
        assertEquals(20, r.steps());
        // From about log2(259) = 8 bits (uniform) to the text's few bits of structure in 20 steps.
        assertTrue(r.evalBitsPerByte() < before - 2.5 && r.evalBitsPerByte() < 5, "bits per byte " + before + " -> "
                + r.evalBitsPerByte());
    }

    @Test
    void trainForATimeReturnsHeldOutBitsPerByte() {
        TextData data = TextData.of("test", text(100).getBytes(StandardCharsets.UTF_8), new ByteTokenizer());
        LmRunConfig c = config("dense-lm", new ByteTokenizer(), 16, 2, 1000, 2);
        long t0 = System.nanoTime();
        LmTraining.Timed t = LmTraining.trainFor(c, data, 0.5, null, null);
        double took = (System.nanoTime() - t0) / 1e9;
        assertTrue(t.steps() >= 1 && t.steps() < 1000, "steps " + t.steps());
        assertTrue(t.bitsPerByte() > 0 && t.bitsPerByte() < 9, "bits per byte " + t.bitsPerByte());
        assertEquals(Math.log(t.perplexity()) / Math.log(2), t.bitsPerByte(), 1e-9, "a byte per token: bits per byte = log2 ppl");
        assertTrue(took < 30, "stopped near its time limit, took " + took + " s");
    }

    @Test
    void denseBaselineHasTheMoeModelsActiveWidth() {
        LmRunConfig moe = config("moe-lm", new ByteTokenizer(), 16, 2, 1, 1);
        LmRunConfig dense = config("dense-lm", new ByteTokenizer(), 16, 2, 1, 1);
        assertEquals(0, dense.transformer().experts());
        assertEquals(moe.transformer().topK() * moe.transformer().expertHidden(), dense.transformer().denseHidden());
        TransformerLm m = LmTraining.model(moe), d = LmTraining.model(dense);
        assertEquals(m.activeParameterCount() - moe.transformer().layers() * (long) moe.transformer().experts()
                * moe.transformer().dModel(), d.parameterCount(), "same active parameters but the router's gate");
        assertThrows(Moe4jException.class, () -> LmRunConfig.preset("huge"));
        assertThrows(Moe4jException.class, () -> LmRunConfig.transformer("moe-lm", "tiny", 259, 16, 4, 5, null));
    }

    @Test
    void theRoutedForwardIsTheModelsForward() {
        LmRunConfig c = config("moe-lm", new ByteTokenizer(), 16, 2, 1, 4);
        TransformerLm m = LmTraining.model(c);
        int[] ids = new int[2 * 16];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 37) % 256;
        IntTensor x = new IntTensor(ids, new int[] {2, 16});
        try (GradMode off = GradMode.off()) {
            float[] a = m.forward(x, RoutingContext.inference("model")).logits().value().toFloatArray();
            Map<String, long[][]> tallies = new LinkedHashMap<>();
            float[] b = LmEvaluator.forwardRouted(m, x, RoutingContext.inference("model"), tallies).logits().value().toFloatArray();
            assertArrayEquals(a, b);
            assertEquals(List.of("layers.0.mlp", "layers.1.mlp"), List.copyOf(tallies.keySet()));
            long assigned = 0;
            for (long[] row : tallies.get("layers.0.mlp")) for (long v : row) assigned += v;
            assertEquals(2L * ids.length, assigned, "top-2: two assignments per token");
        }
    }

    @Test
    void bpeCheckpointsCarryTheirTokenizer(@TempDir Path dir) throws Exception {
        BpeTokenizer bpe = BpeTrainer.train(text(80), 300, Tokenizer.DEFAULT_SPECIALS);
        Path text = dir.resolve("t.txt");
        Files.writeString(text, text(200));
        Path tokFile = dir.resolve("tokenizer.json");
        TokenizerJson.write(bpe, tokFile);
        Tokenizer tok = LmTraining.tokenizer(tokFile.toString());
        LmRunConfig c = LmTraining.config("dense-lm", "text:" + text, tok, tokFile.toString(), "tiny", null, null, null, 16, 2,
                3, 0.01, 1);
        assertEquals("bpe", c.tokenizer());
        TextData data = TextData.load(c.data(), tok);
        new Trainer(LmTraining.task(c, data), c.train()).output(dir.resolve("run"), c).run();
        Checkpoint ck = Checkpoint.open(dir.resolve("run"));
        assertTrue(Files.isRegularFile(ck.dir().resolve(LmTask.TOKENIZER_FILE)));
        String json = Files.readString(ck.dir().resolve(Checkpoint.CONFIG));
        assertTrue(json.contains("\"transformer\"") && json.contains("\"tokenizer\" : \"bpe\""), json);
        TrainedLm run = TrainedLm.open(dir.resolve("run"));
        assertEquals(bpe.vocabSize(), run.task().data().tokenizer().vocabSize());
        assertTrue(TrainedLm.isLm(dir.resolve("run")));
        LmEvaluator.Result r = run.evaluate(true);
        assertTrue(r.bitsPerByte() > 0 && r.expertTokens().isEmpty(), "a dense model has no experts to list");
    }

    @Test
    void bundledKjvLoadsAndBadSpecsSayWhy() {
        TextData d = TextData.load("text:bundled:kjv-small", new ByteTokenizer());
        assertTrue(d.textBytes() > 500_000 && d.textBytes() < 700_000, "bytes " + d.textBytes());
        assertEquals(d.textBytes(), d.train().length + d.heldOut().length);
        assertTrue(new String(java.util.Arrays.copyOf(toBytes(d.train()), 40), StandardCharsets.UTF_8).contains("Genesis"));
        Moe4jException e = assertThrows(Moe4jException.class, () -> TextData.load("text:bundled:nope", new ByteTokenizer()));
        assertTrue(e.getMessage().contains("kjv-small"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> TextData.load("text:/no/such/file.txt", new ByteTokenizer()));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        TextData small = TextData.of("short.txt", text(8).getBytes(StandardCharsets.UTF_8), new ByteTokenizer());
        e = assertThrows(Moe4jException.class, () -> LmTraining.task(config("moe-lm", new ByteTokenizer(), 64, 2, 1, 1), small));
        assertTrue(e.getMessage().contains("held-out") && e.getMessage().contains("--seq-len"), e.getMessage());
        e = assertThrows(Moe4jException.class, () -> org.moe4j.train.data.DataSpec.parse("text:x.txt"));
        assertTrue(e.getMessage().contains("moe-lm"), e.getMessage());
    }

    private static byte[] toBytes(int[] ids) {
        byte[] b = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) b[i] = (byte) ids[i];
        return b;
    }
}
