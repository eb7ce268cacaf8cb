package org.moe4j.train.progress;

import java.io.Console;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Training progress for a person watching: on a terminal one live line redrawn in place (epoch, a bar, step,
 * smoothed loss and accuracy, throughput, ETA), one finished line per epoch; elsewhere (a log file, CI) plain
 * lines every so many seconds or steps. Either way at most about ten draws a second, so printing never slows
 * training down. Not thread-safe: the training loop owns it.
 */
public final class ProgressBar {
    /** How progress is shown. */
    public enum Mode {
        /** A single line redrawn with carriage returns. */
        TERMINAL,
        /** Plain lines, periodically. */
        PLAIN,
        /** Nothing. */
        OFF;

        /**
         * TERMINAL when standard output is an interactive terminal that understands carriage returns, else PLAIN.
         * {@code MOE4J_PROGRESS=terminal|plain|off} overrides the guess.
         */
        public static Mode detect() {
            Console console = System.console();
            // Since Java 22 System.console() exists even when output is redirected; isTerminal() tells the truth.
            return detect(console != null && console.isTerminal(), System.getenv("TERM"), System.getenv("MOE4J_PROGRESS"));
        }

        /** The rule behind {@link #detect()}, testable without a terminal. */
        public static Mode detect(boolean interactive, String term, String override) {
            if (override != null && !override.isBlank()) {
                return switch (override.trim().toLowerCase(Locale.ROOT)) {
                    case "terminal", "tty", "bar" -> TERMINAL;
                    case "plain", "lines" -> PLAIN;
                    case "off", "none", "quiet" -> OFF;
                    default -> throw new IllegalArgumentException(
                            "MOE4J_PROGRESS=" + override + " is not one of terminal, plain, off");
                };
            }
            return interactive && term != null && !term.isBlank() && !term.equals("dumb") ? TERMINAL : PLAIN;
        }
    }

    /** No more than one draw per this many nanoseconds, except where a line must be finished. */
    static final long MIN_DRAW_INTERVAL_NANOS = 100_000_000L;
    /** Time constant of the throughput average: long enough to be steady, short enough to follow a change. */
    private static final double RATE_TAU_SECONDS = 5;
    /** Loss and accuracy smoothing, as an exponential average over roughly the last 50 steps. */
    private static final double SMOOTHING = 0.98;

    private final PrintWriter out;
    private final Mode mode;
    private final int epochs;
    private final long totalSteps;
    private final String unit;
    private final String metricLabel;
    private final boolean metricPercent;
    private final long plainEveryNanos;
    private final long plainEverySteps;
    private final int columns;
    private final LongSupplier clock;
    private final long startNanos;

    // The latest state, drawn or not.
    private long step;
    private int epoch;
    private boolean started;
    private boolean drawnLatest;
    private double lossAverage, lossWeight;
    private double accuracyAverage, accuracyWeight;
    private double itemsPerSecond = Double.NaN, stepsPerSecond = Double.NaN;
    private long pendingItems, pendingSteps;
    private long lastUpdateNanos;

    // What is on the screen.
    private long lastDrawNanos;
    private long lastDrawnStep;
    private boolean drewOnce;
    private boolean lineOpen;
    private int lineLength;

    private ProgressBar(Builder b) {
        this.out = b.out;
        this.mode = b.mode;
        this.epochs = b.epochs;
        this.totalSteps = b.totalSteps;
        this.unit = b.unit;
        this.metricLabel = b.metricLabel;
        this.metricPercent = b.metricPercent;
        this.plainEveryNanos = b.plainEvery.toNanos();
        this.plainEverySteps = b.plainEverySteps;
        this.columns = b.columns;
        this.clock = b.clock;
        this.startNanos = clock.getAsLong();
        this.lastUpdateNanos = startNanos;
    }

    /** A bar writing to {@code out}; every other setting has a default. */
    public static Builder builder(PrintWriter out) {
        return new Builder(out);
    }

    /**
     * Reports one finished step.
     *
     * @param step     steps done so far in the whole run (1 after the first)
     * @param epoch    the current epoch, from 1
     * @param loss     this step's loss
     * @param metric   this step's figure beside the loss (training accuracy 0..1 by default, see
     *                 {@link Builder#metric}), or NaN when not measured
     * @param items    items (images, tokens) this step processed
     */
    public void update(long step, int epoch, double loss, double metric, long items) {
        long now = clock.getAsLong();
        if (started && epoch != this.epoch) endEpoch();
        started = true;
        this.step = step;
        this.epoch = epoch;
        lossAverage = SMOOTHING * lossAverage + (1 - SMOOTHING) * loss;
        lossWeight = SMOOTHING * lossWeight + (1 - SMOOTHING);
        if (!Double.isNaN(metric)) {
            accuracyAverage = SMOOTHING * accuracyAverage + (1 - SMOOTHING) * metric;
            accuracyWeight = SMOOTHING * accuracyWeight + (1 - SMOOTHING);
        }
        measureRate(now, items);
        drawnLatest = false;
        boolean rested = now - lastDrawNanos >= MIN_DRAW_INTERVAL_NANOS;
        boolean due = switch (mode) {
            // A new line (the first, or the first of an epoch) is drawn at once; then at most ten times a second.
            case TERMINAL -> !lineOpen || rested;
            case PLAIN -> !drewOnce || (rested && plainLineDue(now));
            case OFF -> false;
        };
        if (due) draw(now);
    }

    /** Prints a line of its own (an evaluation result, a warning) without garbling the live line. */
    public void message(String text) {
        if (mode == Mode.OFF) return;
        if (lineOpen) {
            out.print("\r" + " ".repeat(lineLength) + "\r");
            lineOpen = false;
        }
        out.println(text);
        out.flush();
        if (mode == Mode.TERMINAL && started) draw(clock.getAsLong());
    }

    /** Shows the final state and ends the live line. */
    public void finish() {
        if (mode == Mode.OFF) return;
        if (started && !drawnLatest) draw(clock.getAsLong());
        closeLine();
        out.flush();
    }

    /** The smoothed loss shown (NaN before the first step). */
    public double smoothedLoss() {
        return lossWeight == 0 ? Double.NaN : lossAverage / lossWeight;
    }

    /** The smoothed per-step figure shown, accuracy by default (NaN when none was reported). */
    public double smoothedAccuracy() {
        return accuracyWeight == 0 ? Double.NaN : accuracyAverage / accuracyWeight;
    }

    /** Current throughput in items per second (NaN until time has passed). */
    public double itemsPerSecond() {
        return itemsPerSecond;
    }

    /** Estimated seconds to the last step, or NaN when the total or the speed is unknown. */
    public double etaSeconds() {
        if (totalSteps <= 0 || !(stepsPerSecond > 0)) return Double.NaN;
        return Math.max(0, totalSteps - step) / stepsPerSecond;
    }

    private void endEpoch() {
        if (mode == Mode.OFF) return;
        if (!drawnLatest) draw(clock.getAsLong());
        closeLine();
    }

    private void closeLine() {
        if (lineOpen) {
            out.println();
            lineOpen = false;
        }
    }

    private boolean plainLineDue(long now) {
        return (plainEverySteps > 0 && step - lastDrawnStep >= plainEverySteps)
                || (plainEveryNanos > 0 && now - lastDrawNanos >= plainEveryNanos);
    }

    private void draw(long now) {
        if (mode == Mode.TERMINAL) {
            String line = terminalLine();
            int pad = Math.max(0, lineLength - line.length());
            out.print("\r" + line + " ".repeat(pad));
            lineOpen = true;
            lineLength = line.length();
        } else {
            out.println(plainLine(now));
        }
        out.flush();
        lastDrawNanos = now;
        lastDrawnStep = step;
        drewOnce = true;
        drawnLatest = true;
    }

    /** A time-weighted average of the throughput, so that a slow first step (JIT warm-up) fades out. */
    private void measureRate(long now, long items) {
        pendingItems += items;
        pendingSteps++;
        long dt = now - lastUpdateNanos;
        if (dt <= 0) return;
        double seconds = dt / 1e9;
        double items1 = pendingItems / seconds, steps1 = pendingSteps / seconds;
        if (Double.isNaN(itemsPerSecond)) {
            itemsPerSecond = items1;
            stepsPerSecond = steps1;
        } else {
            double alpha = 1 - Math.exp(-seconds / RATE_TAU_SECONDS);
            itemsPerSecond += alpha * (items1 - itemsPerSecond);
            stepsPerSecond += alpha * (steps1 - stepsPerSecond);
        }
        pendingItems = 0;
        pendingSteps = 0;
        lastUpdateNanos = now;
    }

    String terminalLine() {
        String head = "epoch " + epoch + (epochs > 0 ? "/" + epochs : "");
        String counter = totalSteps > 0 ? step + "/" + totalSteps : "step " + step;
        String tail = figures() + (totalSteps > 0 ? " ETA " + duration(etaSeconds()) : "");
        // The bar takes what room the figures leave, and goes when the terminal is too narrow for it.
        int room = columns - 1 - head.length() - counter.length() - tail.length() - 4;
        String bar = "";
        if (totalSteps > 0 && room >= 10) bar = " " + bar(Math.min(room, 30), (double) step / totalSteps);
        return head + bar + " " + counter + " " + tail;
    }

    String plainLine(long now) {
        StringBuilder sb = new StringBuilder("epoch ").append(epoch);
        if (epochs > 0) sb.append('/').append(epochs);
        sb.append(" step ").append(step);
        if (totalSteps > 0) {
            sb.append('/').append(totalSteps)
                    .append(String.format(Locale.ROOT, " (%.1f%%)", 100.0 * Math.min(step, totalSteps) / totalSteps));
        }
        sb.append(' ').append(figures()).append(" elapsed ").append(duration((now - startNanos) / 1e9));
        if (totalSteps > 0) sb.append(" ETA ").append(duration(etaSeconds()));
        return sb.toString();
    }

    private String figures() {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "loss %.4f", smoothedLoss()));
        double acc = smoothedAccuracy();
        if (!Double.isNaN(acc)) {
            sb.append(metricPercent ? String.format(Locale.ROOT, " %s %.1f%%", metricLabel, 100 * acc)
                    : String.format(Locale.ROOT, " %s %.3f", metricLabel, acc));
        }
        sb.append(' ').append(rate(itemsPerSecond)).append(' ').append(unit).append("/s");
        return sb.toString();
    }

    static String bar(int width, double fraction) {
        int inner = width - 2;
        double f = Double.isFinite(fraction) ? Math.clamp(fraction, 0, 1) : 0;
        int done = (int) Math.floor(f * inner);
        StringBuilder sb = new StringBuilder(width).append('[');
        sb.append("=".repeat(done));
        if (done < inner) sb.append('>').append(" ".repeat(inner - done - 1));
        return sb.append(']').toString();
    }

    static String rate(double perSecond) {
        if (Double.isNaN(perSecond)) return "-";
        if (perSecond < 10) return String.format(Locale.ROOT, "%.1f", perSecond);
        if (perSecond < 100_000) return String.format(Locale.ROOT, "%.0f", perSecond);
        return String.format(Locale.ROOT, "%.0fk", perSecond / 1000);
    }

    /** h:mm:ss, or m:ss under an hour; "-" when unknown. */
    static String duration(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) return "-";
        long s = Math.round(seconds);
        long h = s / 3600, m = s / 60 % 60, sec = s % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, sec) : String.format(Locale.ROOT, "%d:%02d", m, sec);
    }

    /** The terminal's width from {@code $COLUMNS} where the shell exports it, else 80. */
    public static int terminalColumns() {
        try {
            String c = System.getenv("COLUMNS");
            return c == null ? 80 : Math.max(20, Integer.parseInt(c.trim()));
        } catch (NumberFormatException e) {
            return 80;
        }
    }

    /** Settings with defaults: PLAIN mode, unknown totals, "items", a plain line every 10 s, 80 columns. */
    public static final class Builder {
        private final PrintWriter out;
        private Mode mode = Mode.PLAIN;
        private int epochs;
        private long totalSteps;
        private String unit = "items";
        private String metricLabel = "acc";
        private boolean metricPercent = true;
        private Duration plainEvery = Duration.ofSeconds(10);
        private long plainEverySteps;
        private int columns = 80;
        private LongSupplier clock = System::nanoTime;

        private Builder(PrintWriter out) {
            this.out = Objects.requireNonNull(out, "out");
        }

        public Builder mode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** The number of epochs, shown as e/E (0: unknown). */
        public Builder epochs(int epochs) {
            this.epochs = Math.max(0, epochs);
            return this;
        }

        /** The run's last step, for the bar and the ETA (0: unknown). */
        public Builder totalSteps(long totalSteps) {
            this.totalSteps = Math.max(0, totalSteps);
            return this;
        }

        /** What a step processes, plural ("images", "tokens"). */
        public Builder unit(String unit) {
            this.unit = Objects.requireNonNull(unit, "unit");
            return this;
        }

        /** The label of the per-step figure and whether it is a fraction shown in percent (default "acc", true). */
        public Builder metric(String label, boolean percent) {
            this.metricLabel = Objects.requireNonNull(label, "label");
            this.metricPercent = percent;
            return this;
        }

        /** In PLAIN mode, a line when this much time or this many steps have passed (0 steps: by time only). */
        public Builder plainEvery(Duration every, long steps) {
            if (every.isNegative() || steps < 0) throw new IllegalArgumentException("progress: negative interval");
            this.plainEvery = every;
            this.plainEverySteps = steps;
            return this;
        }

        /** The terminal's width; the bar shrinks or goes to keep the line on one row. */
        public Builder columns(int columns) {
            this.columns = Math.max(20, columns);
            return this;
        }

        /** A nanosecond clock (tests pass a fake one). */
        public Builder clock(LongSupplier nanoClock) {
            this.clock = Objects.requireNonNull(nanoClock, "clock");
            return this;
        }

        public ProgressBar build() {
            return new ProgressBar(this);
        }
    }
}
