package org.moe4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.nn.Module;
import org.moe4j.optim.AdamW;
import org.moe4j.optim.Optimizer;
import org.moe4j.optim.OptimizerState;
import org.moe4j.optim.Sgd;
import org.moe4j.tensor.Tensor;

class CheckpointTest {
    private static final TinyModel.Config CONFIG = new TinyModel.Config(5, 7, 3, 0.01, "adamw", List.of(1, 2));

    @TempDir
    Path run;

    private static Optimizer optimizer(String kind, Module m) {
        return kind.equals("adamw") ? new AdamW(m.parameters(), 0.01) : new Sgd(m.parameters(), 0.05, 0.9, 1e-4, true);
    }

    private static TrainingState state(long step, Rng data) {
        Map<String, List<Double>> metrics = new LinkedHashMap<>();
        metrics.put("loss", List.of(2.5, 1.25, Double.NaN));
        metrics.put("accuracy", List.of(0.1, 0.5));
        return new TrainingState(step, 2, 17, Map.of("data", data.state()), metrics);
    }

    private static int[] bits(Tensor t) {
        float[] f = t.toFloatArray();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) out[i] = Float.floatToRawIntBits(f[i]);
        return out;
    }

    private static void assertSameBits(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, t) -> assertArrayEquals(bits(t), bits(actual.get(name)), name));
    }

    private static Map<String, Tensor> snapshot(Module m) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Checkpoint.modelTensors(m).forEach((k, v) -> out.put(k, v.copy()));
        return out;
    }

    @Test
    void roundTripRestoresEverythingBitForBitAndTrainingContinuesIdentically() {
        for (String kind : List.of("adamw", "sgd")) {
            TinyModel a = new TinyModel(CONFIG, 1);
            Optimizer optA = optimizer(kind, a);
            Rng data = new Rng(99);
            for (int i = 0; i < 3; i++) a.trainStep(optA, data);
            optA.setLearningRate(0.0123);
            Provenance prov = Provenance.capture(42, "sha256:abc");
            CheckpointStore store = new CheckpointStore(run.resolve(kind), 3);
            Path saved = store.save(a, optA, CONFIG, prov, state(3, data));
            assertEquals("ckpt-000003", saved.getFileName().toString());

            TinyModel b = new TinyModel(CONFIG, 2); // different weights until loaded
            Optimizer optB = optimizer(kind, b);
            assertNotEquals(Arrays.toString(bits(a.selectionBias)), Arrays.toString(bits(b.selectionBias)));
            Checkpoint ck = Checkpoint.open(run.resolve(kind));
            assertEquals(saved, ck.dir());
            ck.loadModel(b);
            ck.loadOptimizer(optB, b);
            assertSameBits(snapshot(a), snapshot(b));
            OptimizerState sa = optA.state();
            OptimizerState sb = optB.state();
            assertEquals(sa.kind(), sb.kind());
            assertEquals(3, sb.steps());
            assertEquals(0.0123, sb.learningRate());
            assertFalse(sa.tensors().isEmpty());
            assertSameBits(sa.tensors(), sb.tensors());

            assertEquals(CONFIG, ck.config(TinyModel.Config.class));
            assertEquals(TinyModel.Config.class.getName(), ck.configClass());
            assertEquals(prov, ck.provenance());
            TrainingState st = ck.state();
            assertEquals(3, st.step());
            assertEquals(2, st.epoch());
            assertEquals(17, st.dataPosition());
            assertEquals(List.of(0.1, 0.5), st.metrics().get("accuracy"));
            assertTrue(Double.isNaN(st.metrics().get("loss").get(2)));

            // One more step from the restored generator: both copies must land on the same bits.
            Rng dataB = Rng.restore(st.rngState("data"));
            a.trainStep(optA, data);
            b.trainStep(optB, dataB);
            assertSameBits(snapshot(a), snapshot(b));
            assertSameBits(optA.state().tensors(), optB.state().tensors());
        }
    }

    @Test
    void everyJsonFileCarriesItsFormatAndVersion() throws IOException {
        TinyModel m = new TinyModel(CONFIG, 1);
        Path dir = new CheckpointStore(run, 1).save(m, null, CONFIG, Provenance.capture(1, "h"), new TrainingState(0, 0, 0));
        for (String f : List.of(Checkpoint.CONFIG, Checkpoint.PROVENANCE, Checkpoint.STATE)) {
            var node = Json.MAPPER.readTree(dir.resolve(f).toFile());
            assertEquals(1, node.get("format_version").intValue(), f);
            assertTrue(node.get("format").textValue().startsWith("moe4j-"), f);
        }
        var config = Json.MAPPER.readTree(dir.resolve(Checkpoint.CONFIG).toFile()).get("config");
        assertEquals(0.01, config.get("learning_rate").doubleValue()); // record fields in snake_case, as config files spell them
        assertEquals(List.of(1, 2), List.of(config.get("extra_sizes").get(0).intValue(), config.get("extra_sizes").get(1).intValue()));
        try (SafetensorsFile f = Safetensors.open(dir.resolve(Checkpoint.MODEL))) {
            assertEquals("1", f.metadata().get(Checkpoint.VERSION_KEY));
            assertEquals(List.of("mlp.0.weight", "mlp.0.bias", "mlp.1.weight", "mlp.1.bias", "selectionBias"), f.names());
        }
        assertFalse(Files.exists(dir.resolve(Checkpoint.OPTIMIZER)));
        assertFalse(Checkpoint.open(dir).hasOptimizer());

        // A checkpoint from a newer moe4j is recognised, not misread.
        String state = Files.readString(dir.resolve(Checkpoint.STATE)).replace("\"format_version\" : 1", "\"format_version\" : 7");
        Files.writeString(dir.resolve(Checkpoint.STATE), state);
        FileFormatException e = assertThrows(FileFormatException.class, () -> Checkpoint.open(dir));
        assertEquals("format_version", e.field());
        assertTrue(e.problem().contains("newer moe4j"), e.getMessage());
    }

    @Test
    void aSaveThatFailsHalfWayLeavesThePreviousCheckpointLatestAndWhole() throws IOException {
        TinyModel m = new TinyModel(CONFIG, 1);
        Optimizer opt = optimizer("adamw", m);
        Rng data = new Rng(5);
        m.trainStep(opt, data);
        CheckpointStore store = new CheckpointStore(run, 5);
        Path first = store.save(m, opt, CONFIG, Provenance.capture(1, "h"), new TrainingState(10, 0, 0));
        Map<String, Tensor> atFirst = snapshot(m);
        m.trainStep(opt, data);

        for (String crashAt : List.of(Checkpoint.MODEL, Checkpoint.OPTIMIZER, Checkpoint.CONFIG, Checkpoint.STATE, "renamed")) {
            store.withHook(point -> {
                if (point.equals(crashAt)) throw new IOException("simulated crash after " + point);
            });
            assertThrows(RuntimeException.class,
                    () -> store.save(m, opt, CONFIG, Provenance.capture(1, "h"), new TrainingState(20, 0, 0)), crashAt);
            assertEquals(first, store.latest().orElseThrow(), crashAt);
            assertEquals("ckpt-000010", Files.readString(run.resolve("latest")).strip(), crashAt);
            assertFalse(Files.exists(run.resolve("ckpt-000020.tmp")), crashAt);
            TinyModel restored = new TinyModel(CONFIG, 3);
            Checkpoint ck = Checkpoint.open(run);
            ck.loadModel(restored);
            ck.loadOptimizer(optimizer("adamw", restored), restored);
            assertEquals(10, ck.state().step(), crashAt);
            assertSameBits(atFirst, snapshot(restored));
        }
        // The next save replaces the orphan a crash after the rename left behind, and becomes the latest.
        store.withHook(point -> {});
        Path second = store.save(m, opt, CONFIG, Provenance.capture(1, "h"), new TrainingState(20, 0, 0));
        assertEquals(second, store.latest().orElseThrow());
        assertEquals(20, Checkpoint.open(run).state().step());
    }

    @Test
    void extraFilesArriveWithTheCheckpointOrNotAtAll() throws IOException {
        TinyModel m = new TinyModel(CONFIG, 1);
        CheckpointStore store = new CheckpointStore(run, 5);
        Map<String, byte[]> extra = Map.of("tokenizer.json", "{\"model\":1}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Path first = store.save(m, null, CONFIG, Provenance.capture(1, "h"), new TrainingState(1, 0, 0), extra);
        assertEquals("{\"model\":1}", Files.readString(first.resolve("tokenizer.json")));
        store.withHook(point -> {
            if (point.equals("tokenizer.json")) throw new IOException("simulated crash after " + point);
        });
        assertThrows(RuntimeException.class,
                () -> store.save(m, null, CONFIG, Provenance.capture(1, "h"), new TrainingState(2, 0, 0), extra));
        assertEquals(first, store.latest().orElseThrow(), "a crash while writing an extra file leaves the previous checkpoint");
        assertFalse(Files.exists(run.resolve("ckpt-000002")));
        store.withHook(point -> {});
        for (String bad : List.of("../x", Checkpoint.CONFIG, Checkpoint.OPTIMIZER, "")) {
            Moe4jException e = assertThrows(Moe4jException.class, () -> store.save(m, null, CONFIG, Provenance.capture(1, "h"),
                    new TrainingState(3, 0, 0), Map.of(bad, new byte[0])), bad);
            assertTrue(e.getMessage().contains("plain file name"), e.getMessage());
        }
        assertFalse(Files.exists(run.resolve("ckpt-000003")), "refused before writing");
    }

    @Test
    void aConfigThatIsNotJsonIsRefusedAndLeavesNothingBehind() throws IOException {
        TinyModel m = new TinyModel(CONFIG, 1);
        CheckpointStore store = new CheckpointStore(run, 2);
        store.save(m, null, CONFIG, Provenance.capture(1, "h"), new TrainingState(1, 0, 0));
        Moe4jException e = assertThrows(Moe4jException.class,
                () -> store.save(m, null, new Object(), Provenance.capture(1, "h"), new TrainingState(2, 0, 0)));
        assertTrue(e.getMessage().contains("cannot write a java.lang.Object as JSON"), e.getMessage());
        try (Stream<Path> files = Files.list(run)) {
            assertEquals(List.of("ckpt-000001", "latest"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void aNanParameterIsNeverSaved() {
        TinyModel m = new TinyModel(CONFIG, 1);
        Optimizer opt = optimizer("sgd", m);
        m.mlp.namedParameters().get("1.weight").value().set(Double.NaN, 2, 4);
        Moe4jException e = assertThrows(Moe4jException.class,
                () -> new CheckpointStore(run, 2).save(m, opt, CONFIG, Provenance.capture(1, "h"), new TrainingState(5, 0, 0)));
        assertTrue(e.getMessage().contains("'mlp.1.weight' holds NaN at element 18"), e.getMessage());
        assertFalse(Files.exists(run.resolve("ckpt-000005")));
        assertFalse(Files.exists(run.resolve("ckpt-000005.tmp")));

        TinyModel ok = new TinyModel(CONFIG, 1);
        ok.selectionBias.floats()[1] = Float.POSITIVE_INFINITY;
        e = assertThrows(Moe4jException.class,
                () -> new CheckpointStore(run, 2).save(ok, null, CONFIG, Provenance.capture(1, "h"), new TrainingState(5, 0, 0)));
        assertTrue(e.getMessage().contains("'selectionBias' holds Infinity"), e.getMessage());
    }

    @Test
    void mismatchedShapesOnLoadNameTheTensorAndBothShapes() {
        TinyModel m = new TinyModel(CONFIG, 1);
        Optimizer opt = optimizer("adamw", m);
        new CheckpointStore(run, 2).save(m, opt, CONFIG, Provenance.capture(1, "h"), new TrainingState(1, 0, 0));
        Checkpoint ck = Checkpoint.open(run);

        TinyModel wider = new TinyModel(new TinyModel.Config(5, 9, 3, 0.01, "adamw", List.of()), 2);
        Map<String, Tensor> before = snapshot(wider);
        Moe4jException e = assertThrows(Moe4jException.class, () -> ck.loadModel(wider));
        assertTrue(e.getMessage().contains("tensor 'mlp.0.weight' has shape [7, 5] in the checkpoint but [9, 5] in the model"),
                e.getMessage());
        assertSameBits(before, snapshot(wider)); // checked before anything was copied

        e = assertThrows(Moe4jException.class, () -> ck.loadOptimizer(optimizer("adamw", wider), wider));
        assertTrue(e.getMessage().contains("has shape [7, 5] in the checkpoint but [9, 5] in the model"), e.getMessage());

        TinyModel same = new TinyModel(CONFIG, 2);
        e = assertThrows(Moe4jException.class, () -> ck.loadOptimizer(optimizer("sgd", same), same));
        assertTrue(e.getMessage().contains("saved by AdamW, cannot load into Sgd"), e.getMessage());
    }

    @Test
    void missingAndExtraTensorsAreNamed() {
        TinyModel m = new TinyModel(CONFIG, 1);
        new CheckpointStore(run, 2).save(m, null, CONFIG, Provenance.capture(1, "h"), new TrainingState(1, 0, 0));
        Module plain = new Module() {
            {
                child("mlp", new org.moe4j.nn.Mlp(new Rng(1), 5, 7, 3));
            }
        };
        Moe4jException e = assertThrows(Moe4jException.class, () -> Checkpoint.open(run).loadModel(plain));
        assertTrue(e.getMessage().contains("has tensor 'selectionBias' that the model lacks"), e.getMessage());
    }

    @Test
    void pruningKeepsTheNewestAndLatestPointsToTheLastSave() throws IOException {
        TinyModel m = new TinyModel(CONFIG, 1);
        CheckpointStore store = new CheckpointStore(run, 2);
        for (long step : new long[] {100, 200, 300, 1_000_000}) {
            store.save(m, null, CONFIG, Provenance.capture(1, "h"), new TrainingState(step, 0, 0));
        }
        try (Stream<Path> files = Files.list(run)) {
            assertEquals(List.of("ckpt-000300", "ckpt-1000000", "latest"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertEquals(List.of(run.resolve("ckpt-000300"), run.resolve("ckpt-1000000")), store.checkpoints());
        assertEquals(1_000_000, Checkpoint.open(run).state().step());
    }

    @Test
    void aTamperedPointerIsNotFollowed() throws IOException {
        TinyModel m = new TinyModel(CONFIG, 1);
        CheckpointStore store = new CheckpointStore(run, 3);
        store.save(m, null, CONFIG, Provenance.capture(1, "h"), new TrainingState(1, 0, 0));
        store.save(m, null, CONFIG, Provenance.capture(1, "h"), new TrainingState(2, 0, 0));
        Files.writeString(run.resolve("latest"), "../../elsewhere");
        assertEquals(run.resolve("ckpt-000002"), store.latest().orElseThrow()); // the newest complete instead
        Files.writeString(run.resolve("latest"), "ckpt-000001");
        assertEquals(1, Checkpoint.open(run).state().step());
        Moe4jException e = assertThrows(Moe4jException.class, () -> Checkpoint.open(run.resolve("nothing")));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
    }

    @Test
    void aMissingFileIsNamed() throws IOException {
        TinyModel m = new TinyModel(CONFIG, 1);
        Path dir = new CheckpointStore(run, 3).save(m, null, CONFIG, Provenance.capture(1, "h"), new TrainingState(1, 0, 0));
        Files.delete(dir.resolve(Checkpoint.PROVENANCE));
        FileFormatException e = assertThrows(FileFormatException.class, () -> Checkpoint.open(dir));
        assertEquals(dir.resolve(Checkpoint.PROVENANCE).toString(), e.file());
        assertTrue(e.problem().contains("missing"));
    }
}
