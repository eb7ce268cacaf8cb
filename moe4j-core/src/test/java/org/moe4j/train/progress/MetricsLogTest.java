package org.moe4j.train.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Moe4jException;
import org.moe4j.moe.RouterStats;
import org.moe4j.train.progress.MetricsRecord.Eval;
import org.moe4j.train.progress.MetricsRecord.Routing;
import org.moe4j.train.progress.MetricsRecord.Step;
import org.moe4j.train.progress.MetricsRecord.Summary;

class MetricsLogTest {
    @TempDir
    Path dir;

    static RouterStats stats(String layer, long... routed) {
        long[] dropped = new long[routed.length];
        dropped[0] = 1;
        return new RouterStats(layer, 40, routed, dropped, 51.123456789012345, 40, null);
    }

    static List<MetricsRecord> sample() {
        RouterStats withBias = new RouterStats("blocks.1.moe", 40, new long[] {30, 50}, new long[] {0, 3}, 20.5, 40,
                new double[] {0.125, -1e-7});
        return List.of(
                new Step(1, 1, 2.302585092994046, 0.1, 1e-3, 1234.5, 0.25, 0.01),
                new Step(2, 1, 1.9, Double.NaN, 1e-3, 1300, 0.5, 0),
                new Routing(2, List.of(stats("blocks.0.moe", 10, 20, 30, 20), withBias)),
                new Eval(2, 1, "validation", 1.7, 0.61, Double.NaN),
                new Eval(2, 1, "test \"quoted\"\n", 1.8, Double.NaN, 3.25),
                new Summary(2, 1, 0.6, 1280.25, 1.95, 1.7, 0.61, "completed"));
    }

    @Test
    void everyRecordReadsBackEqual() {
        Path p = dir.resolve("run/metrics.jsonl");
        try (MetricsLog log = MetricsLog.create(p)) {
            sample().forEach(log::write);
        }
        List<MetricsRecord> back = MetricsLog.readRecords(p);
        assertEquals(sample(), back);
        MetricsHistory h = MetricsLog.read(p);
        assertEquals(2, h.steps().size());
        assertEquals(2, h.evals().size());
        assertEquals(List.of("blocks.0.moe", "blocks.1.moe"), h.layerNames());
        assertEquals("completed", h.summary().orElseThrow().status());
        assertTrue(Double.isNaN(h.steps().get(1).accuracy()), "null accuracy reads back as NaN");
    }

    @Test
    void linesArePlainJsonWithTypeAndDerivedRouterFigures() throws IOException {
        Path p = dir.resolve("m.jsonl");
        try (MetricsLog log = MetricsLog.create(p)) {
            sample().forEach(log::write);
        }
        List<String> lines = Files.readAllLines(p);
        assertEquals(6, lines.size());
        assertTrue(lines.get(0).startsWith("{\"type\":\"step\",\"step\":1,"), lines.get(0));
        assertTrue(lines.get(1).contains("\"accuracy\":null"), "NaN is written as null: " + lines.get(1));
        assertFalse(lines.get(3).contains("bitsPerByte"), "an absent optional figure is left out");
        var router = (Map<?, ?>) ((List<?>) ((Map<?, ?>) Json.parse(lines.get(2))).get("layers")).get(0);
        assertEquals(List.of(0.125, 0.25, 0.375, 0.25), router.get("share"));
        assertEquals(4L, router.get("experts"));
    }

    @Test
    void eachLineIsOnDiskBeforeClose() {
        Path p = dir.resolve("m.jsonl");
        MetricsLog log = MetricsLog.create(p);
        try {
            log.write(sample().get(0));
            // Another reader (the report of a run still going, or after a kill) sees the line already.
            assertEquals(List.of(sample().get(0)), MetricsLog.readRecords(p));
        } finally {
            log.close();
        }
    }

    @Test
    void aPartialLastLineIsIgnoredAndCutOffOnReopen() throws IOException {
        Path p = dir.resolve("m.jsonl");
        try (MetricsLog log = MetricsLog.create(p)) {
            log.write(sample().get(0));
            log.write(sample().get(1));
        }
        // A kill in the middle of a write.
        Files.writeString(p, "{\"type\":\"step\",\"step\":3,\"ep", StandardOpenOption.APPEND);
        assertEquals(sample().subList(0, 2), MetricsLog.readRecords(p));
        try (MetricsLog log = MetricsLog.append(p)) {
            log.write(sample().get(2));
        }
        assertEquals(sample().subList(0, 3), MetricsLog.readRecords(p));
        assertEquals(3, Files.readAllLines(p).size());
    }

    @Test
    void reopeningAFileWithoutAnyCompleteLineStartsItAfresh() throws IOException {
        Path p = dir.resolve("m.jsonl");
        Files.writeString(p, "{\"type\":\"st");
        try (MetricsLog log = MetricsLog.append(p)) {
            log.write(sample().get(0));
        }
        assertEquals(List.of(sample().get(0)), MetricsLog.readRecords(p));
    }

    @Test
    void resumeDropsWhatTheResumedRunWillRepeat() throws IOException {
        Path p = dir.resolve("m.jsonl");
        try (MetricsLog log = MetricsLog.create(p)) {
            for (long s = 1; s <= 5; s++) log.write(new Step(s, 1, 1.0 / s, 0.5, 1e-3, 100, s, 0));
            log.write(new Eval(4, 1, "validation", 0.3, 0.9, Double.NaN));
            log.write(new Summary(5, 1, 5, 100, 0.2, 0.3, 0.9, "stopped: killed"));
        }
        Files.writeString(p, "{\"type\":\"step\",\"step\":6", StandardOpenOption.APPEND);
        // The last checkpoint was after step 3: steps 4 and 5, the eval at 4 and the summary go.
        try (MetricsLog log = MetricsLog.resume(p, 3)) {
            log.write(new Step(4, 1, 0.26, 0.5, 1e-3, 100, 4, 0));
        }
        List<MetricsRecord> back = MetricsLog.readRecords(p);
        assertEquals(List.of(1L, 2L, 3L, 4L), back.stream().map(MetricsRecord::step).toList());
        assertEquals(0.26, ((Step) back.get(3)).loss());
        assertFalse(Files.exists(dir.resolve("m.jsonl.tmp")), "the temporary file is renamed over the log");
    }

    @Test
    void resumeWithoutALogStartsOne() {
        Path p = dir.resolve("new/m.jsonl");
        try (MetricsLog log = MetricsLog.resume(p, 10)) {
            log.write(sample().get(0));
        }
        assertEquals(1, MetricsLog.readRecords(p).size());
    }

    @Test
    void unknownRecordTypesAreSkippedAndGarbageIsNamed() throws IOException {
        Path p = dir.resolve("m.jsonl");
        Files.writeString(p, "{\"type\":\"future\",\"x\":1}\n" + MetricsJson.toJson(sample().get(0)) + "\n\n",
                StandardCharsets.UTF_8);
        assertEquals(List.of(sample().get(0)), MetricsLog.readRecords(p));
        Files.writeString(p, "{\"type\":\"step\",\"step\":\"one\"}\n", StandardOpenOption.APPEND);
        Moe4jException e = assertThrows(Moe4jException.class, () -> MetricsLog.readRecords(p));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("\"step\""), e.getMessage());
    }

    @Test
    void jsonReaderHandlesEscapesNumbersAndRejectsMalformedText() {
        Object v = Json.parse(" {\"a\": [1, -2.5e3, true, false, null], \"s\": \"x\\u0041\\n\\\"\\\\/\", \"o\": {}} ");
        Map<?, ?> m = assertInstanceOf(Map.class, v);
        assertEquals(List.of(1L, -2500.0, true, false), ((List<?>) m.get("a")).subList(0, 4));
        assertNull(((List<?>) m.get("a")).get(4));
        assertEquals("xA\n\"\\/", m.get("s"));
        for (String bad : new String[] {"{", "{\"a\" 1}", "[1,]", "{\"a\":1} x", "\"\\q\"", "-", "tru", "{\"a\":01.2.3}"}) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
        String hostile = "a\"b\\c\n\u0001\u2028<";
        assertEquals(hostile, Json.parse(Json.quote(hostile)));
        assertEquals("null", Json.number(Double.NaN));
        assertEquals("3", Json.number(3.0));
        assertEquals(-0.0, (Double) Json.parse(Json.number(-0.0)));
        assertEquals(0.1, Json.parse(Json.number(0.1)));
    }
}
