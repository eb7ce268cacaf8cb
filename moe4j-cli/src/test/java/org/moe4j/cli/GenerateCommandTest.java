package org.moe4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Rng;
import org.moe4j.infer.GenerationOptions;
import org.moe4j.infer.GenerationResult;
import org.moe4j.infer.Generator;
import org.moe4j.infer.ModelLoader;
import org.moe4j.infer.SamplingParams;
import org.moe4j.io.CheckpointStore;
import org.moe4j.io.Provenance;
import org.moe4j.io.TrainingState;
import org.moe4j.io.tokenizer.TokenizerJson;
import org.moe4j.model.TransformerConfig;
import org.moe4j.model.TransformerLm;

/** generate and tokenizer train on a tiny random checkpoint written as an LM training run writes one. */
class GenerateCommandTest {
    /** The fields of the LM run config that readers rely on. */
    record LmRun(TransformerConfig transformer, String tokenizer) {}

    @TempDir
    static Path dir;
    static Path run;
    static Generator reference;

    @BeforeAll
    static void writeCheckpoint() {
        TransformerConfig c = TransformerConfig.tiny().withLayers(1).withMaxSeqLen(32);
        run = dir.resolve("run");
        new CheckpointStore(run, 1).save(new TransformerLm(c, new Rng(8)), null, new LmRun(c, "byte"),
                Provenance.capture(1, "test"), new TrainingState(4, 0, 0));
        reference = Generator.of(ModelLoader.load(run));
    }

    private static String ids(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    private static void assertOneLineError(MainTest.Run r, int code, String contains) {
        assertEquals(code, r.code(), r.out() + r.err());
        String[] lines = r.errLines();
        assertEquals(1, lines.length, r.err());
        assertTrue(lines[0].startsWith("moe4j: ") && lines[0].contains(contains), lines[0]);
    }

    @Test
    void printsTextOrIdsStreamedOrNotAndASummary() {
        GenerationOptions opts = GenerationOptions.of(6, SamplingParams.of(0.9, 3)).withIgnoreEos(true);
        GenerationResult expected = reference.generate("abc", opts, null);
        String[] base = {"generate", "--model", run.toString(), "--max-tokens", "6", "--temperature", "0.9", "--seed",
                "3", "--ignore-eos"};
        MainTest.Run text = MainTest.run(concat(base, "--prompt", "abc"));
        assertEquals(0, text.code(), text.err());
        assertEquals(expected.text() + System.lineSeparator(), text.out());
        assertTrue(text.err().startsWith("[3 prompt tokens at ") && text.err().contains("6 generated")
                && text.err().contains("finished: max_tokens"), text.err());
        MainTest.Run streamed = MainTest.run(concat(base, "--prompt", "abc", "--stream"));
        assertEquals(text.out(), streamed.out());

        MainTest.Run byIds = MainTest.run(concat(base, "--prompt-ids", "97,98,99"));
        assertEquals(0, byIds.code(), byIds.err());
        assertEquals(ids(expected.ids()), byIds.out().strip());
        assertEquals(byIds.out(), MainTest.run(concat(base, "--prompt-ids", "97,98,99", "--stream")).out());
    }

    @Test
    void dumpsThePromptLogitsWithASidecar() throws Exception {
        Path file = dir.resolve("logits.bin");
        MainTest.Run r = MainTest.run("generate", "--model", run.toString(), "--prompt-ids", "1,87,107",
                "--max-tokens", "1", "--dump-logits", file.toString());
        assertEquals(0, r.code(), r.err());
        byte[] raw = Files.readAllBytes(file);
        assertEquals(3 * 259 * 4, raw.length);
        float[] got = new float[3 * 259];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(got);
        assertArrayEquals(reference.promptLogits(new int[] {1, 87, 107}).toFloatArray(), got, 0f);
        String side = Files.readString(dir.resolve("logits.bin.json"));
        assertEquals(1, side.strip().lines().count());
        JsonNode j = new ObjectMapper().readTree(side);
        assertEquals("[3,259]", j.get("shape").toString());
        assertEquals("[1,87,107]", j.get("token_ids").toString());
        assertEquals("float32", j.get("dtype").asText());
    }

    @Test
    void badFlagsAndModelsGetOneLine() {
        String m = run.toString();
        assertOneLineError(MainTest.run("generate", "--model", m, "--prompt", "a", "--temperature", "-1"), 2,
                "--temperature: must be a finite number >= 0");
        assertOneLineError(MainTest.run("generate", "--model", m, "--prompt", "a", "--top-p", "0"), 2, "--top-p");
        assertOneLineError(MainTest.run("generate", "--model", m, "--prompt-ids", "1,999"), 2,
                "--prompt: token id 999 at 1");
        assertOneLineError(MainTest.run("generate", "--model", m, "--prompt", "a", "--prompt-ids", "1"), 2,
                "mutually exclusive");
        assertOneLineError(MainTest.run("generate", "--model", m, "--prompt-ids", "1,x"), 2, "--prompt-ids");
        assertOneLineError(MainTest.run("generate", "--model", m, "--prompt", "a", "--max-tokens", "0"), 2,
                "--max-tokens: must be >= 1");
        assertOneLineError(MainTest.run("generate", "--model", dir.resolve("nothing").toString(), "--prompt", "a"), 1,
                "does not exist");
    }

    @Test
    void trainsATokenizer() throws Exception {
        Path text = dir.resolve("text.txt");
        Files.writeString(text, "In the beginning God created the heaven and the earth. ".repeat(30));
        Path out = dir.resolve("tok.json");
        MainTest.Run r = MainTest.run("tokenizer", "train", "--data", text.toString(), "--vocab", "280", "--out",
                out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("280 ids (21 merges, 3 special)"), r.out());
        assertEquals(280, TokenizerJson.read(out).vocabSize());
        assertOneLineError(MainTest.run("tokenizer", "train", "--data", text.toString(), "--vocab", "100", "--out",
                out.toString()), 2, "ask for at least 259");
        assertOneLineError(MainTest.run("tokenizer", "train", "--data", dir.resolve("none.txt").toString(), "--vocab",
                "300", "--out", out.toString()), 1, "is not a file");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
