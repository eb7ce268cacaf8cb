package org.moe4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.moe4j.kernel.Parallel;
import picocli.CommandLine;

/** Runs the command line in-process, as {@code ./moe4j} would, capturing what it prints and its exit status. */
class MainTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final int threadsBefore = Parallel.threads();

    record Run(int code, String out, String err) {
        String[] errLines() {
            return err.isEmpty() ? new String[0] : err.split("\\R");
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = Main.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(threadsBefore);
    }

    /** One line on stderr, "moe4j: ...", with no stack trace. */
    private static String assertOneLineError(Run r) {
        String[] lines = r.errLines();
        assertEquals(1, lines.length, "stderr: " + r.err());
        assertTrue(lines[0].startsWith("moe4j: "), lines[0]);
        assertFalse(r.err().contains("\tat "), r.err());
        return lines[0];
    }

    @Test
    void quickstartTrainsOnTheBundledDataAndWritesTheReport(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path out = dir.resolve("qs");
        Run r = run("quickstart", "--max-steps", "5", "--threads", "1", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("max-steps after 5 steps"), r.out());
        assertTrue(r.out().matches("(?s).*test accuracy \\d+\\.\\d\\d%.*"), r.out());
        assertTrue(r.out().contains("report: " + out.resolve("report.html")), r.out());
        assertTrue(java.nio.file.Files.isRegularFile(out.resolve("report.html")));
        assertOneLineError(run("quickstart", "--epochs", "0"));
    }

    @Test
    void versionIsTheFilteredProjectVersion() {
        Run r = run("--version");
        assertEquals(0, r.code());
        assertTrue(r.out().strip().matches("moe4j \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?"), r.out());
    }

    @Test
    void infoJsonHasTheMachineTheBackendAndTheSelfTest() throws Exception {
        Run r = run("info", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode info = JSON.readTree(r.out());
        assertEquals(VersionProvider.version(), info.get("moe4j").asText());
        for (String field : new String[] {"vendor", "version", "vm"}) {
            assertFalse(info.path("jvm").path(field).asText().isBlank(), "jvm." + field);
        }
        assertFalse(info.path("os").path("arch").asText().isBlank());
        assertTrue(info.get("cores").asInt() >= 1);
        assertTrue(info.get("maxHeapBytes").asLong() > 0);
        int bits = info.path("vector").path("bits").asInt();
        assertEquals(bits / 32, info.path("vector").path("floatLanes").asInt());
        assertTrue(info.get("backend").asText().matches("vector|scalar"), info.get("backend").asText());
        assertTrue(info.get("backendDescription").asText().contains(bits + "-bit"));
        assertEquals(Parallel.threads(), info.get("threads").asInt());
        JsonNode self = info.get("selfTest");
        assertTrue(self.get("scalarGflops").asDouble() > 0 && self.get("vectorGflops").asDouble() > 0, self.toString());
        assertEquals(self.get("speedup").asDouble() >= 2, self.get("clearlyFaster").asBoolean(), self.toString());
    }

    @Test
    void infoTextNamesTheBackend() {
        Run r = run("info");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("backend   "), r.out());
        assertTrue(r.out().contains("selftest  dot product"), r.out());
    }

    @Test
    void benchMatmulJsonIsOneParseableLine() throws Exception {
        Run r = run("bench", "matmul", "--m", "3", "--n", "17", "--k", "5", "--threads", "1",
                "--warmup", "0", "--seconds", "0.05", "--json");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().split("\\R");
        assertEquals(1, lines.length, r.out());
        JsonNode line = JSON.readTree(lines[0]);
        assertEquals("matmul", line.get("op").asText());
        assertEquals(3, line.get("m").asInt());
        assertEquals(17, line.get("n").asInt());
        assertEquals(5, line.get("k").asInt());
        assertEquals(1, line.get("threads").asInt());
        assertTrue(line.get("ms").asDouble() > 0, lines[0]);
        assertTrue(line.get("gflops").asDouble() > 0, lines[0]);
    }

    @Test
    void benchMatmulTextReportsGflops() {
        Run r = run("bench", "matmul", "--m", "8", "--n", "8", "--k", "8", "--warmup", "0", "--seconds", "0.02");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s)matmul m=8 n=8 k=8, .* GFLOP/s, .* ms per call.*"), r.out());
    }

    @Test
    void unknownFlagIsAUsageErrorInOneLine() {
        Run r = run("info", "--bogus");
        assertEquals(2, r.code());
        String line = assertOneLineError(r);
        assertTrue(line.contains("--bogus"), line);
        assertTrue(line.contains("moe4j info --help"), line);
    }

    @Test
    void negativeSizeNamesTheFlag() {
        Run r = run("bench", "matmul", "--m", "4", "--n", "-2", "--k", "4");
        assertEquals(2, r.code());
        String line = assertOneLineError(r);
        assertTrue(line.contains("--n must be at least 1, got -2"), line);
    }

    @Test
    void zeroThreadsNamesTheFlag() {
        Run r = run("bench", "matmul", "--m", "4", "--n", "4", "--k", "4", "--threads", "0");
        assertEquals(2, r.code());
        assertTrue(assertOneLineError(r).contains("--threads"), r.err());
    }

    @Test
    void sizesBeyondAJavaArrayAreRejectedBeforeAllocating() {
        Run r = run("bench", "matmul", "--m", "100000", "--n", "4", "--k", "100000");
        assertEquals(2, r.code());
        String line = assertOneLineError(r);
        assertTrue(line.contains("--m 100000 times --k 100000"), line);
    }

    @Test
    void aRuntimeErrorExitsOneWithoutAStackTrace() {
        // 3 x 1.6e9 floats: each fits in an array, together they exceed any test heap.
        Run r = run("bench", "matmul", "--m", "40000", "--n", "40000", "--k", "40000");
        assertEquals(1, r.code());
        assertTrue(assertOneLineError(r).contains("needs"), r.err());
    }

    @Test
    void verboseAddsTheStackTrace() {
        Run r = run("bench", "matmul", "--m", "40000", "--n", "40000", "--k", "40000", "--verbose");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("\tat org.moe4j.cli.BenchMatmulCommand"), r.err());
        String[] lines = r.errLines();
        assertTrue(lines[lines.length - 1].startsWith("moe4j: "), r.err());
        // --verbose is global: it also works before the command.
        Run before = run("--verbose", "bench", "matmul", "--m", "40000", "--n", "40000", "--k", "40000");
        assertTrue(before.err().contains("\tat org.moe4j.cli.BenchMatmulCommand"), before.err());
    }

    @Test
    void benchWithoutABenchmarkListsThemAsAUsageError() {
        Run r = run("bench");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("matmul"), r.err());
    }
}
