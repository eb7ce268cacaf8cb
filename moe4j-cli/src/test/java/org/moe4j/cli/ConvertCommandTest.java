package org.moe4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Rng;
import org.moe4j.infer.GenerationOptions;
import org.moe4j.infer.Generator;
import org.moe4j.infer.LoadedModel;
import org.moe4j.infer.ModelLoader;
import org.moe4j.infer.SamplingParams;
import org.moe4j.io.CheckpointStore;
import org.moe4j.io.Provenance;
import org.moe4j.io.TrainingState;
import org.moe4j.io.gguf.GgmlType;
import org.moe4j.io.gguf.GgufFile;
import org.moe4j.io.hf.HfArchitecture;
import org.moe4j.io.hf.HfCheckpoint;
import org.moe4j.model.TransformerConfig;
import org.moe4j.model.TransformerLm;

/** convert: a moe4j checkpoint to GGUF (F32 and Q8_0), GGUF to a Hugging Face directory, and generate from each. */
class ConvertCommandTest {
    @TempDir
    static Path dir;
    static Path run;

    @BeforeAll
    static void writeCheckpoint() {
        TransformerConfig c = TransformerConfig.tiny().withLayers(1).withMaxSeqLen(32);
        run = dir.resolve("run");
        new CheckpointStore(run, 1).save(new TransformerLm(c, new Rng(5)), null, new GenerateCommandTest.LmRun(c, "byte"),
                Provenance.capture(1, "test"), new TrainingState(4, 0, 0));
    }

    private static int[] greedy(LoadedModel m) {
        return Generator.of(m).generate(new int[] {97, 98, 99}, GenerationOptions.of(5, SamplingParams.GREEDY)
                .withIgnoreEos(true), null).ids();
    }

    @Test
    void checkpointToGgufAndBackGeneratesTheSameTokens() {
        int[] want = greedy(ModelLoader.load(run));
        Path gguf = dir.resolve("m.gguf");
        MainTest.Run r = MainTest.run("convert", "--from", run.toString(), "--to", gguf.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("llama") && r.err().contains("output.weight"), r.out() + r.err());
        LoadedModel fromGguf = ModelLoader.load(gguf);
        assertTrue(fromGguf.tokenizer().isPresent(), fromGguf.description());
        assertArrayEquals(want, greedy(fromGguf));
        MainTest.Run gen = MainTest.run("generate", "--model", gguf.toString(), "--prompt", "abc", "--max-tokens", "3");
        assertEquals(0, gen.code(), gen.err());

        Path hf = dir.resolve("hf");
        r = MainTest.run("convert", "--from", gguf.toString(), "--to", hf.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(HfArchitecture.MIXTRAL, HfCheckpoint.load(hf).architecture());
        assertArrayEquals(want, greedy(ModelLoader.load(hf)));
        assertTrue(Files.isRegularFile(hf.resolve("tokenizer.json")));

        MainTest.Run again = MainTest.run("convert", "--from", gguf.toString(), "--to", hf.toString());
        assertEquals(1, again.code());
        assertTrue(again.err().contains("already exists"), again.err());
    }

    @Test
    void q8FileKeepsNormsAndRouterF32AndGreedyTokensMatch() throws Exception {
        Path gguf = dir.resolve("q8.gguf");
        MainTest.Run r = MainTest.run("convert", "--from", run.toString(), "--to", gguf.toString(), "--type", "q8_0");
        assertEquals(0, r.code(), r.err());
        try (GgufFile f = GgufFile.open(gguf)) {
            assertEquals(GgmlType.Q8_0, f.info("blk.0.ffn_up_exps.weight").type());
            assertEquals(GgmlType.F32, f.info("blk.0.ffn_gate_inp.weight").type());
            assertEquals(GgmlType.F32, f.info("output_norm.weight").type());
        }
        assertArrayEquals(greedy(ModelLoader.load(run)), greedy(ModelLoader.load(gguf)));
    }

    @Test
    void badRequestsAreOneLineErrors() {
        MainTest.Run r = MainTest.run("convert", "--from", run.toString(), "--to", dir.resolve("x.gguf").toString(),
                "--type", "q5_k");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("moe4j: convert: --type q5_k"), r.err());
        r = MainTest.run("convert", "--from", run.toString(), "--to", dir.resolve("out").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("a directory to a .gguf file"), r.err());
        assertFalse(Files.exists(dir.resolve("x.gguf")));
    }
}
