package org.moe4j.train.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.train.progress.ProgressBar.Mode;

class ProgressBarTest {
    /** A clock the test moves by hand. */
    static final class FakeClock {
        long nanos = 1_000_000_000L;

        void advanceMillis(long ms) {
            nanos += ms * 1_000_000L;
        }
    }

    final StringWriter text = new StringWriter();
    final FakeClock clock = new FakeClock();

    ProgressBar.Builder bar(Mode mode) {
        return ProgressBar.builder(new PrintWriter(text)).mode(mode).clock(() -> clock.nanos).unit("images");
    }

    @Test
    void terminalRedrawsOneLineInPlaceAtMostTenTimesASecond() {
        ProgressBar p = bar(Mode.TERMINAL).epochs(1).totalSteps(1000).columns(100).build();
        for (int s = 1; s <= 1000; s++) {
            clock.advanceMillis(5); // 200 steps/s, 64 images each
            p.update(s, 1, 1.0, 0.5, 64);
        }
        p.finish();
        String out = text.toString();
        long redraws = out.chars().filter(c -> c == '\r').count();
        // 5 seconds of training: 10 draws a second plus the first and the final one.
        assertTrue(redraws >= 40 && redraws <= 52, "redraws: " + redraws);
        assertEquals(1, out.chars().filter(c -> c == '\n').count(), "one finished line: " + out);
        String last = lastFrame(out);
        assertTrue(last.startsWith("epoch 1/1 [" + "=".repeat(28) + "] 1000/1000 loss 1.0000 acc 50.0% 12800 images/s ETA 0:00"),
                last);
        assertTrue(last.length() < 100, "the line fits the terminal: " + last.length());
    }

    @Test
    void terminalShowsBarEtaAndSmoothedFiguresMidway() {
        ProgressBar p = bar(Mode.TERMINAL).epochs(4).totalSteps(400).columns(120).build();
        for (int s = 1; s <= 100; s++) {
            clock.advanceMillis(100); // 10 steps/s
            p.update(s, 2, s <= 50 ? 2.0 : 1.0, 0.25, 32);
        }
        String last = lastFrame(text.toString());
        assertTrue(last.startsWith("epoch 2/4 [=======>"), last);
        assertTrue(last.contains(" 100/400 "), last);
        assertTrue(last.contains(" 320 images/s"), last);
        assertTrue(last.contains("ETA 0:30"), "300 steps at 10/s: " + last);
        // The smoothed loss lies between the two plateaus, nearer the recent one.
        double loss = p.smoothedLoss();
        assertTrue(loss > 1.0 && loss < 1.5, "smoothed loss " + loss);
        assertEquals(0.25, p.smoothedAccuracy(), 1e-12);
        assertEquals(30, p.etaSeconds(), 1e-6);
    }

    @Test
    void eachEpochEndsItsOwnLineAndMessagesDoNotGarbleTheBar() {
        ProgressBar p = bar(Mode.TERMINAL).epochs(2).totalSteps(4).build();
        clock.advanceMillis(1000);
        p.update(1, 1, 2.0, Double.NaN, 10);
        clock.advanceMillis(10);
        p.update(2, 1, 1.0, Double.NaN, 10); // too soon to draw; the epoch's end draws it
        clock.advanceMillis(1000);
        p.update(3, 2, 1.0, Double.NaN, 10);
        p.message("epoch 1: validation loss 0.9");
        clock.advanceMillis(1000);
        p.update(4, 2, 1.0, Double.NaN, 10);
        p.finish();
        List<String> lines = Arrays.stream(text.toString().split("\n")).map(ProgressBarTest::lastFrame).toList();
        assertEquals(3, lines.size(), text.toString());
        assertTrue(lines.get(0).startsWith("epoch 1/2 ") && lines.get(0).contains(" 2/4 "), lines.get(0));
        assertFalse(lines.get(0).contains("acc"), "no accuracy was reported");
        assertEquals("epoch 1: validation loss 0.9", lines.get(1).strip());
        assertTrue(lines.get(2).startsWith("epoch 2/2 ") && lines.get(2).contains(" 4/4 "), lines.get(2));
    }

    @Test
    void languageModelsShowBitsPerByteAndTokens() {
        ProgressBar p = bar(Mode.PLAIN).epochs(1).totalSteps(10).unit("tokens").metric("bpb", false).build();
        clock.advanceMillis(1000);
        p.update(1, 1, 1.5, 2.25, 4096);
        p.finish();
        String line = text.toString().lines().toList().getFirst();
        assertTrue(line.startsWith("epoch 1/1 step 1/10 (10.0%) loss 1.5000 bpb 2.250 4096 tokens/s"), line);
    }

    @Test
    void plainModePrintsWholeLinesByTime() {
        ProgressBar p = bar(Mode.PLAIN).epochs(1).totalSteps(600).plainEvery(Duration.ofSeconds(10), 0).build();
        for (int s = 1; s <= 600; s++) {
            clock.advanceMillis(100);
            p.update(s, 1, 0.5, 0.9, 8);
        }
        p.finish();
        String out = text.toString();
        assertFalse(out.contains("\r"), "no carriage returns in a log file");
        List<String> lines = out.lines().toList();
        // The first step, one line each 10 s of the 60 s, the final state.
        assertEquals(7, lines.size(), out);
        assertTrue(lines.get(0).startsWith("epoch 1/1 step 1/600 (0.2%) loss 0.5000 acc 90.0%"), lines.get(0));
        assertEquals("epoch 1/1 step 600/600 (100.0%) loss 0.5000 acc 90.0% 80 images/s elapsed 1:00 ETA 0:00",
                lines.getLast());
    }

    @Test
    void plainModePrintsByStepsButNeverFasterThanTenLinesASecond() {
        ProgressBar p = bar(Mode.PLAIN).totalSteps(0).plainEvery(Duration.ZERO, 10).build();
        for (int s = 1; s <= 100; s++) {
            clock.advanceMillis(50);
            p.update(s, 1, 0.5, Double.NaN, 1);
        }
        List<String> byTime = text.toString().lines().toList();
        // Every 10 steps would be 10 lines; the rate limit allows about one per 100 ms, so 10 steps = 0.5 s is fine.
        assertEquals(List.of(1L, 11L, 21L, 31L, 41L, 51L, 61L, 71L, 81L, 91L),
                byTime.stream().map(l -> Long.parseLong(l.split(" ")[3])).toList());
        assertFalse(byTime.get(0).contains("ETA"), "no ETA without a total");

        text.getBuffer().setLength(0);
        ProgressBar fast = bar(Mode.PLAIN).plainEvery(Duration.ZERO, 1).build();
        for (int s = 1; s <= 1000; s++) {
            clock.advanceMillis(1);
            fast.update(s, 1, 0.5, Double.NaN, 1);
        }
        long lines = text.toString().lines().count();
        assertTrue(lines >= 9 && lines <= 11, "one second of steps gives about ten lines: " + lines);
    }

    @Test
    void offPrintsNothing() {
        ProgressBar p = bar(Mode.OFF).totalSteps(10).build();
        for (int s = 1; s <= 10; s++) {
            clock.advanceMillis(500);
            p.update(s, 1, 0.1, 0.1, 1);
        }
        p.message("hidden");
        p.finish();
        assertEquals("", text.toString());
    }

    @Test
    void modeDetectionFollowsTheTerminalAndTheOverride() {
        assertEquals(Mode.TERMINAL, Mode.detect(true, "xterm-256color", null));
        assertEquals(Mode.PLAIN, Mode.detect(true, "dumb", null));
        assertEquals(Mode.PLAIN, Mode.detect(true, null, ""));
        assertEquals(Mode.PLAIN, Mode.detect(false, "xterm", null));
        assertEquals(Mode.TERMINAL, Mode.detect(false, null, "terminal"));
        assertEquals(Mode.OFF, Mode.detect(true, "xterm", "OFF"));
        assertEquals(Mode.PLAIN, Mode.detect(true, "xterm", "plain"));
        assertThrows(IllegalArgumentException.class, () -> Mode.detect(true, "xterm", "fancy"));
    }

    @Test
    void formatting() {
        assertEquals("[=====>    ]", ProgressBar.bar(12, 0.5));
        assertEquals("[>         ]", ProgressBar.bar(12, Double.NaN));
        assertEquals("[==========]", ProgressBar.bar(12, 1.7));
        assertEquals("1:01:05", ProgressBar.duration(3665));
        assertEquals("0:59", ProgressBar.duration(59.4));
        assertEquals("-", ProgressBar.duration(Double.POSITIVE_INFINITY));
        assertEquals("2.5", ProgressBar.rate(2.5));
        assertEquals("950", ProgressBar.rate(950.2));
        assertEquals("250k", ProgressBar.rate(250_000));
    }

    @Test
    void aNarrowTerminalLosesTheBarNotTheFigures() {
        ProgressBar p = bar(Mode.TERMINAL).epochs(10).totalSteps(5000).columns(60).build();
        clock.advanceMillis(200);
        p.update(1234, 3, 0.3412, 0.912, 64);
        String line = lastFrame(text.toString());
        assertFalse(line.contains("["), line);
        assertTrue(line.contains("loss 0.3412 acc 91.2%"), line);
    }

    /** What a terminal shows after the carriage returns: the text after the last one, trailing blanks dropped. */
    static String lastFrame(String s) {
        String line = s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
        return line.substring(line.lastIndexOf('\r') + 1).stripTrailing();
    }
}
