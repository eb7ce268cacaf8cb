package org.moe4j.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.io.CheckpointStore;
import org.moe4j.io.FileFormatException;
import org.moe4j.io.Provenance;
import org.moe4j.io.TrainingState;
import org.moe4j.io.tokenizer.BpeTokenizer;
import org.moe4j.io.tokenizer.BpeTrainer;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.io.tokenizer.TokenizerJson;
import org.moe4j.model.TransformerConfig;
import org.moe4j.model.TransformerLm;
import org.moe4j.tensor.IntTensor;

/** Loading LM checkpoints written as a training run writes them (the contract in the brief). */
class ModelLoaderTest {
    /** Stands for the LM run config of org.moe4j.train: the fields a reader relies on, and one it does not. */
    record LmRun(TransformerConfig transformer, String tokenizer, int maxSteps) {}

    /** A classifier run's config: no transformer. */
    record OtherRun(String model) {}

    static Path save(Path run, TransformerLm model, Object config, long step) {
        return new CheckpointStore(run, 2).save(model, null, config, Provenance.capture(1, "test"),
                new TrainingState(step, 0, 0));
    }

    private static float[] logits(TransformerLm model, int... ids) {
        return model.forwardIncremental(IntTensor.of(ids), model.newCache()).logits().value().toFloatArray();
    }

    @Test
    void loadsARunsLatestCheckpointOrACheckpointDirectoryWithTheByteTokenizer(@TempDir Path dir) {
        TransformerConfig c = TransformerConfig.tiny().withLayers(1).withMaxSeqLen(32);
        Path run = dir.resolve("run");
        Path first = save(run, new TransformerLm(c, new Rng(1)), new LmRun(c, "byte", 10), 3);
        TransformerLm trained = new TransformerLm(c, new Rng(2));
        save(run, trained, new LmRun(c, "byte", 10), 7);

        LoadedModel latest = ModelLoader.load(run);
        assertEquals(c, latest.model().config());
        assertArrayEquals(logits(trained, 5, 6, 7), logits(latest.model(), 5, 6, 7), 0f);
        assertTrue(latest.tokenizer().orElseThrow() instanceof ByteTokenizer);
        assertTrue(latest.description().contains("step 7") && latest.description().contains("tokenizer byte"),
                latest.description());
        LoadedModel older = ModelLoader.load(first);
        assertTrue(older.description().contains("step 3"), older.description());

        Generator g = Generator.of(latest);
        assertEquals(4, g.generate("abc", GenerationOptions.of(4, SamplingParams.GREEDY).withIgnoreEos(true), null)
                .generatedTokens());
    }

    @Test
    void loadsAHuggingFaceDirectoryAsItsArchitectureDescribesIt() throws Exception {
        // The sharded BF16 Qwen2-MoE fixture of the golden tests: config.json and an index, no provenance.json.
        Path qwen = Path.of(ModelLoaderTest.class.getResource("/hf/qwen2_moe/config.json").toURI()).getParent();
        LoadedModel loaded = ModelLoader.load(qwen);
        TransformerLm direct = org.moe4j.io.hf.HfCheckpoint.load(qwen).model();
        assertEquals(direct.config(), loaded.model().config());
        assertArrayEquals(logits(direct, 1, 2, 3), logits(loaded.model(), 1, 2, 3), 0f);
        assertTrue(loaded.description().startsWith("Qwen2MoeForCausalLM"), loaded.description());
    }

    @Test
    void aBpeCheckpointCarriesItsTokenizerJson(@TempDir Path dir) {
        BpeTokenizer bpe = BpeTrainer.train("the cat sat on the mat; the cat ate the rat. ".repeat(20), 280,
                Tokenizer.DEFAULT_SPECIALS);
        TransformerConfig c = TransformerConfig.tiny().withLayers(1).withVocab(bpe.vocabSize()).withMaxSeqLen(32);
        Path ckpt = save(dir.resolve("run"), new TransformerLm(c, new Rng(4)), new LmRun(c, "bpe", 1), 1);
        FileFormatException missing = assertThrows(FileFormatException.class, () -> ModelLoader.load(ckpt));
        assertTrue(missing.getMessage().contains("tokenizer.json") && missing.getMessage().contains("is missing"),
                missing.getMessage());
        TokenizerJson.write(bpe, ckpt.resolve(CheckpointSource.TOKENIZER_FILE));
        LoadedModel m = ModelLoader.load(dir.resolve("run"));
        Tokenizer t = m.tokenizer().orElseThrow();
        assertArrayEquals(bpe.encode("the cat"), t.encode("the cat"));
        assertTrue(m.description().contains("tokenizer bpe"), m.description());
    }

    @Test
    void badCheckpointsGetErrorsNamingTheFile(@TempDir Path dir) throws Exception {
        TransformerConfig c = TransformerConfig.tiny().withLayers(1).withMaxSeqLen(32);
        Path other = save(dir.resolve("other"), new TransformerLm(c, new Rng(1)), new OtherRun("moe-mlp"), 1);
        FileFormatException notLm = assertThrows(FileFormatException.class, () -> ModelLoader.load(other));
        assertTrue(notLm.getMessage().contains("config.json") && notLm.getMessage().contains("config.transformer")
                && notLm.getMessage().contains("not a language model"), notLm.getMessage());

        Path odd = save(dir.resolve("odd"), new TransformerLm(c, new Rng(1)), new LmRun(c, "sentencepiece", 1), 1);
        FileFormatException tok = assertThrows(FileFormatException.class, () -> ModelLoader.load(odd));
        assertTrue(tok.getMessage().contains("config.tokenizer") && tok.getMessage().contains("\"byte\" or \"bpe\""),
                tok.getMessage());

        Path ok = save(dir.resolve("ok"), new TransformerLm(c, new Rng(1)), new LmRun(c, "byte", 1), 1);
        byte[] weights = Files.readAllBytes(ok.resolve("model.safetensors"));
        Files.write(ok.resolve("model.safetensors"), java.util.Arrays.copyOf(weights, weights.length / 2));
        Moe4jException truncated = assertThrows(Moe4jException.class, () -> ModelLoader.load(ok));
        assertTrue(truncated.getMessage().contains("model.safetensors"), truncated.getMessage());

        Path wrong = save(dir.resolve("wrong"), new TransformerLm(c, new Rng(1)), new LmRun(c.withLayers(2), "byte", 1), 1);
        Moe4jException shape = assertThrows(Moe4jException.class, () -> ModelLoader.load(wrong));
        assertTrue(shape.getMessage().contains("lacks tensor"), shape.getMessage());

        Path empty = Files.createDirectories(dir.resolve("empty"));
        Moe4jException none = assertThrows(Moe4jException.class, () -> ModelLoader.load(empty));
        assertTrue(none.getMessage().contains("is not a model this version reads"), none.getMessage());
        Moe4jException absent = assertThrows(Moe4jException.class, () -> ModelLoader.load(dir.resolve("nope")));
        assertTrue(absent.getMessage().contains("does not exist"), absent.getMessage());
        for (ModelSource source : ModelLoader.SOURCES) {
            assertTrue(none.getMessage().contains(source.name()), "the error lists what it reads: " + none.getMessage());
        }
    }
}
