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
import org.moe4j.moe.RouterInfo;
import org.moe4j.moe.Routers;
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

    /** Runs {@code base} with {@code extra} appended: a test's usual arguments plus the case's own. */
    static Run run(String[] base, String... extra) {
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return run(args);
    }

    /** Exit code {@code code} and one line on stderr, "moe4j: ..." containing {@code contains}. */
    static void assertOneLineError(Run r, int code, String contains) {
        assertEquals(code, r.code(), r.out() + r.err());
        String line = assertOneLineError(r);
        assertTrue(line.contains(contains), line);
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
    void quickstartComparesAnMoeAndADenseLanguageModelAndPrintsASample(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path out = dir.resolve("qs");
        Run r = run("quickstart", "--max-steps", "3", "--seconds", "60", "--threads", "1", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s).*held-out bits per byte: MoE \\d+\\.\\d{3} \\(3 steps in \\d+ s.*"
                + "dense \\d+\\.\\d{3} \\(3 steps in \\d+ s.*"), r.out());
        assertTrue(r.out().contains("sample from the MoE model (temperature 0.8): And God said,"), r.out());
        assertTrue(r.out().contains("report: " + out.resolve("report.html")), r.out());
        assertTrue(java.nio.file.Files.isRegularFile(out.resolve("report.html")));
        assertTrue(java.nio.file.Files.isDirectory(out.resolve("dense-lm")), "the dense run keeps its checkpoint too");
        assertOneLineError(run("quickstart", "--seconds", "0"));
    }

    @Test
    void quickstartImagesTrainsTheCnnOnTheBundledSubset(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path out = dir.resolve("qs");
        Run r = run("quickstart", "--images", "--max-steps", "5", "--threads", "1", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("max-steps after 5 steps"), r.out());
        assertTrue(r.out().matches("(?s).*test accuracy \\d+\\.\\d\\d%.*"), r.out());
        assertTrue(java.nio.file.Files.isRegularFile(out.resolve("report.html")));
        assertOneLineError(run("quickstart", "--epochs", "0"));
    }

    @Test
    void serveExplainsAModelItCannotLoadAndAPortItCannotTake(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        Run missing = run("serve", "--model", dir.resolve("nowhere").toString(), "--port", "0");
        assertEquals(1, missing.code(), missing.err());
        String[] lines = missing.errLines();
        assertTrue(lines[0].startsWith("moe4j serve: listening on http://127.0.0.1:"), missing.err());
        assertTrue(lines[lines.length - 1].startsWith("moe4j: ") && lines[lines.length - 1].contains("does not exist"),
                missing.err());
        assertFalse(missing.err().contains("\tat "), missing.err());
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            String line = assertOneLineError(run("serve", "--model", dir.toString(), "--port",
                    Integer.toString(taken.getLocalPort())));
            assertTrue(line.contains("cannot listen") && line.contains("--port"), line);
        }
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
        assertTrue(r.err().contains("moe"), r.err());
    }

    @Test
    void benchMoeJsonIsOneLineWithEveryParameter() throws Exception {
        for (String impl : new String[] {"grouped", "naive"}) {
            Run r = run("bench", "moe", "--dim", "16", "--hidden", "24", "--experts", "4", "--top-k", "2",
                    "--tokens", "37", "--router", "topk", "--backward", "--impl", impl, "--threads", "1",
                    "--warmup", "0", "--seconds", "0.05", "--seed", "3", "--json");
            assertEquals(0, r.code(), r.err());
            String[] lines = r.out().split("\\R");
            assertEquals(1, lines.length, r.out());
            JsonNode line = JSON.readTree(lines[0]);
            assertEquals("moe", line.get("op").asText());
            assertEquals(16, line.get("dim").asInt());
            assertEquals(24, line.get("hidden").asInt());
            assertEquals(4, line.get("experts").asInt());
            assertEquals(2, line.get("topK").asInt());
            assertEquals(37, line.get("tokens").asInt());
            assertEquals("topk", line.get("router").asText());
            assertTrue(line.get("backward").asBoolean());
            assertEquals(impl, line.get("impl").asText());
            assertEquals(1, line.get("threads").asInt());
            assertEquals(3, line.get("seed").asLong());
            assertEquals(37 * 2, line.get("assignments").asInt(), "dropless top-2: two assignments per token");
            double ms = line.get("ms").asDouble();
            assertTrue(ms > 0, lines[0]);
            assertTrue(line.get("bestMs").asDouble() <= ms, lines[0]);
            assertTrue(line.get("cpuMs").asDouble() > 0, lines[0]);
            assertEquals(37 / (ms / 1e3), line.get("tokensPerSecond").asDouble(), 1e-6 * 37 / (ms / 1e3));
            // forward+backward: 3 x (6 * dim * hidden) FLOPs per assignment
            assertEquals(3.0 * 6 * 16 * 24 * 74 / (ms * 1e6), line.get("gflops").asDouble(), 1e-9);
        }
    }

    @Test
    void benchMoeDensePeerReportsTheDenseSpeedAndTheRatio() throws Exception {
        Run r = run("bench", "moe", "--dim", "16", "--hidden", "32", "--experts", "4", "--top-k", "2", "--tokens", "40",
                "--dense-peer", "--threads", "1", "--warmup", "0", "--seconds", "0.05", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode line = JSON.readTree(r.out().strip());
        JsonNode dense = line.get("dense");
        // one expert's share of the rows, [20, 16] x [16, 32], as many calls as the layer has FLOPs:
        // 6 * 16 * 32 * 80 assignments / (2 * 20 * 32 * 16) = 12
        assertEquals(20, dense.get("m").asInt());
        assertEquals(32, dense.get("n").asInt());
        assertEquals(16, dense.get("k").asInt());
        assertEquals(12, dense.get("callsPerIteration").asInt());
        assertTrue(dense.get("gflops").asDouble() > 0 && dense.get("bestGflops").asDouble() >= dense.get("gflops").asDouble(),
                line.toString());
        assertEquals(line.get("gflops").asDouble() / dense.get("gflops").asDouble(), line.get("ratioToDense").asDouble(), 1e-9);
        assertEquals(line.get("bestGflops").asDouble() / dense.get("bestGflops").asDouble(),
                line.get("bestRatioToDense").asDouble(), 1e-9);
        // the same FLOPs per iteration, so the CPU-time ratio is the peer's least CPU time over the layer's
        assertEquals(dense.get("bestCpuMs").asDouble() / line.get("bestCpuMs").asDouble(),
                line.get("cpuRatioToDense").asDouble(), 1e-9);
        // the fair peer: one dense FFN, hidden = top-k x hidden, over the same 40 tokens
        JsonNode ffn = line.get("denseFfn");
        assertEquals(40, ffn.get("tokens").asInt());
        assertEquals(16, ffn.get("dim").asInt());
        assertEquals(64, ffn.get("hidden").asInt());
        assertTrue(ffn.get("gflops").asDouble() > 0 && ffn.get("bestGflops").asDouble() >= ffn.get("gflops").asDouble(),
                line.toString());
        assertTrue(ffn.get("bestCpuMs").asDouble() > 0 && ffn.get("cpuMs").asDouble() >= ffn.get("bestCpuMs").asDouble(),
                line.toString());
        assertEquals(line.get("gflops").asDouble() / ffn.get("gflops").asDouble(), line.get("ratioToDenseFfn").asDouble(),
                1e-9);
        assertEquals(line.get("bestGflops").asDouble() / ffn.get("bestGflops").asDouble(),
                line.get("bestRatioToDenseFfn").asDouble(), 1e-9);
        // equal FLOPs per iteration (dropless), so the CPU-time ratio is the peer's least CPU time over the layer's
        assertEquals(ffn.get("bestCpuMs").asDouble() / line.get("bestCpuMs").asDouble(),
                line.get("cpuRatioToDenseFfn").asDouble(), 1e-9);
        Run text = run("bench", "moe", "--dim", "8", "--hidden", "8", "--experts", "2", "--top-k", "1", "--tokens", "8",
                "--dense-peer", "--warmup", "0", "--seconds", "0.02");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("dense peer sgemm m=4 n=8 k=8 x 6 per iteration"), text.out());
        assertTrue(text.out().contains("dense peer FFN tokens=8 dim=8 hidden=8: "), text.out());
    }

    @Test
    void benchMoeTextReportsMsTokensAndGflops() {
        Run r = run("bench", "moe", "--dim", "8", "--hidden", "8", "--experts", "3", "--top-k", "1", "--tokens", "10",
                "--warmup", "0", "--seconds", "0.02");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s)moe dim=8 hidden=8 experts=3 top-k=1 tokens=10 router=topk impl=grouped forward, "
                + ".* ms per iteration .* tokens/s, .* GFLOP/s .*"), r.out());
    }

    @Test
    void benchMoeUnknownRouterListsTheKnownOnes() {
        Run r = run("bench", "moe", "--router", "nosuch", "--tokens", "4");
        assertEquals(2, r.code());
        String line = assertOneLineError(r);
        assertTrue(line.contains("unknown router 'nosuch'"), line);
        for (RouterInfo info : Routers.all()) assertTrue(line.contains(info.name()), line);
        assertTrue(line.contains("moe4j bench moe --help"), line);
    }

    @Test
    void benchMoeRejectsBadFlagsByName() {
        String[][] cases = {
            {"--top-k", "9", "--top-k must be in [1, --experts 8], got 9"},
            {"--impl", "fast", "--impl must be grouped or naive, got 'fast'"},
            {"--tokens", "0", "--tokens must be at least 1, got 0"},
            {"--seconds", "0", "--seconds must be"},
            {"--experts", "100000", "--experts x --hidden x --dim = 100000 x 1024 x 512 = 52428800000 floats"},
        };
        for (String[] c : cases) {
            Run r = run("bench", "moe", c[0], c[1]);
            assertEquals(2, r.code(), String.join(" ", c));
            String line = assertOneLineError(r);
            assertTrue(line.contains(c[2]), line);
        }
    }

    @Test
    void infoRoutersListsEveryRouterWithItsPaper() throws Exception {
        Run text = run("info", "--routers");
        assertEquals(0, text.code(), text.err());
        assertFalse(text.out().contains("selftest"), "the router list replaces the machine report");
        for (RouterInfo info : Routers.all()) {
            assertTrue(text.out().contains(info.name()) && text.out().contains(info.paper())
                    && text.out().contains(info.summary()), info.name() + " in:\n" + text.out());
        }
        Run json = run("info", "--routers", "--json");
        assertEquals(0, json.code(), json.err());
        String[] lines = json.out().split("\\R");
        assertEquals(1, lines.length, json.out());
        JsonNode routers = JSON.readTree(lines[0]).get("routers");
        assertEquals(Routers.all().size(), routers.size());
        for (int i = 0; i < routers.size(); i++) {
            RouterInfo info = Routers.all().get(i);
            assertEquals(info.name(), routers.get(i).get("name").asText());
            assertEquals(info.paper(), routers.get(i).get("paper").asText());
            assertEquals(info.summary(), routers.get(i).get("summary").asText());
        }
    }
}
