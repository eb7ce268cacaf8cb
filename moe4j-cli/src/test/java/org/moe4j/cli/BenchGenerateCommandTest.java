package org.moe4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.moe4j.kernel.Parallel;

class BenchGenerateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final int threadsBefore = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(threadsBefore);
    }

    @Test
    void jsonNamesTheModelFromPresetAndFlagsAndPositiveSpeeds() throws Exception {
        MainTest.Run r = MainTest.run("bench", "generate", "--preset", "tiny", "--dim", "32", "--heads", "2",
                "--experts", "3", "--top-k", "1", "--ffn", "24", "--vocab", "50", "--prompt-tokens", "5",
                "--gen-tokens", "3", "--repeats", "1", "--warmup", "0", "--threads", "1", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode line = JSON.readTree(r.out().strip());
        assertEquals("generate", line.get("op").asText());
        assertEquals(32, line.get("dim").asInt());
        assertEquals(2, line.get("heads").asInt());
        assertEquals(2, line.get("kvHeads").asInt(), "--heads sets the kv heads too unless --kv-heads is given");
        assertEquals(3, line.get("experts").asInt());
        assertEquals(50, line.get("vocab").asInt());
        assertEquals(2, line.get("layers").asInt(), "the tiny preset's layers");
        assertTrue(line.get("activeParameters").asLong() < line.get("parameters").asLong(), line.toString());
        assertTrue(line.get("genTokensPerSecond").asDouble() > 0 && line.get("promptTokensPerSecond").asDouble() > 0);
        int last = line.get("lastToken").asInt();
        assertTrue(last >= 0 && last < 50, line.toString());
    }

    @Test
    void aSavedQ8ModelIsTimedFromItsFileAndHoldsFewerBytes(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        String file = tmp.resolve("r.gguf").toString();
        String[] shape = {"--preset", "tiny", "--dim", "64", "--heads", "2", "--ffn", "64", "--vocab", "40"};
        String[] save = {"bench", "generate", "--save-gguf", file, "--save-type", "Q8_0"};
        MainTest.Run w = MainTest.run(concat(save, shape));
        assertEquals(0, w.code(), w.err());
        assertTrue(w.out().contains("Q8_0"), w.out());
        String[] timing = {"--prompt-tokens", "4", "--gen-tokens", "2", "--repeats", "1", "--warmup", "0", "--threads",
            "1", "--json"};
        MainTest.Run q = MainTest.run(concat(new String[] {"bench", "generate", "--model", file}, timing));
        assertEquals(0, q.code(), q.err());
        MainTest.Run f = MainTest.run(concat(concat(new String[] {"bench", "generate"}, shape), timing));
        assertEquals(0, f.code(), f.err());
        JsonNode held = JSON.readTree(q.out().strip()), floats = JSON.readTree(f.out().strip());
        assertEquals(64, held.get("dim").asInt());
        assertTrue(held.get("weightBytes").asLong() < 0.5 * floats.get("weightBytes").asLong(), held + " vs " + floats);
        assertTrue(held.get("genTokensPerSecond").asDouble() > 0);
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void badFlagsAreUsageErrors() {
        MainTest.Run r = MainTest.run("bench", "generate", "--preset", "huge");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--preset"), r.err());
        r = MainTest.run("bench", "generate", "--dim", "30", "--heads", "4");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--dim 30 must be a positive multiple of --heads 4"), r.err());
    }
}
