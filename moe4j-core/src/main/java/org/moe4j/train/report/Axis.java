package org.moe4j.train.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A linear axis with "nice" ticks (1, 2, 2.5 or 5 times a power of ten) covering the data, mapping values to
 * pixels. A degenerate range (one point, all values equal) is widened so that nothing divides by zero.
 */
final class Axis {
    final double min, max, step;
    private final double pixelFrom, pixelTo;

    private Axis(double min, double max, double step, double pixelFrom, double pixelTo) {
        this.min = min;
        this.max = max;
        this.step = step;
        this.pixelFrom = pixelFrom;
        this.pixelTo = pixelTo;
    }

    /**
     * An axis over [lo, hi] with about {@code ticks} ticks, extended outward to tick multiples.
     *
     * @param pixelFrom the pixel of {@code min} (bottom of a y axis, left of an x axis)
     */
    static Axis nice(double lo, double hi, int ticks, double pixelFrom, double pixelTo) {
        if (!Double.isFinite(lo) || !Double.isFinite(hi)) {
            lo = 0;
            hi = 1;
        }
        if (lo > hi) {
            double t = lo;
            lo = hi;
            hi = t;
        }
        if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
            double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
            lo -= pad;
            hi += pad;
        }
        double step = niceStep((hi - lo) / Math.max(1, ticks - 1));
        double min = Math.floor(lo / step + 1e-9) * step;
        double max = Math.ceil(hi / step - 1e-9) * step;
        return new Axis(min, max, step, pixelFrom, pixelTo);
    }

    /**
     * An axis over exactly the data [lo, hi] (steps: no empty margin after the last one), with nice ticks inside
     * it; from 0 when lo is close to 0 relative to the span.
     */
    static Axis tight(double lo, double hi, int ticks, double pixelFrom, double pixelTo) {
        if (!Double.isFinite(lo) || !Double.isFinite(hi)) return nice(lo, hi, ticks, pixelFrom, pixelTo);
        double min = lo >= 0 && lo < (hi - lo) * 0.05 ? 0 : lo;
        double step = niceStep((hi - min) / Math.max(1, ticks - 1));
        return new Axis(min, hi, step, pixelFrom, pixelTo);
    }

    /**
     * A tight axis over whole numbers (steps): ticks never fall between two integers, and a span shorter than
     * two (one step, or a window of one) is widened around the data.
     */
    static Axis steps(double lo, double hi, int ticks, double pixelFrom, double pixelTo) {
        if (!Double.isFinite(lo) || !Double.isFinite(hi)) return nice(0, 1, ticks, pixelFrom, pixelTo);
        if (hi - lo < 2) {
            double mid = (lo + hi) / 2;
            lo = Math.max(0, Math.floor(mid - 1));
            hi = lo + 2;
        }
        Axis a = tight(lo, hi, ticks, pixelFrom, pixelTo);
        return new Axis(a.min, a.max, Math.max(1, a.step), pixelFrom, pixelTo);
    }

    /** An axis over exactly [min, max] with the given tick step (e.g. 0..1 in steps of 0.25). */
    static Axis fixed(double min, double max, double step, double pixelFrom, double pixelTo) {
        return new Axis(min, max, step, pixelFrom, pixelTo);
    }

    static double niceStep(double raw) {
        if (!(raw > 0) || !Double.isFinite(raw)) return 1;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / mag;
        double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
        return nice * mag;
    }

    /** The pixel of a value (values outside the range map outside the plot; callers clip or clamp). */
    double px(double v) {
        return pixelFrom + (v - min) / (max - min) * (pixelTo - pixelFrom);
    }

    double clampedPx(double v) {
        return px(Math.clamp(v, min, max));
    }

    /** The multiples of the step within [min, max]. */
    List<Double> ticks() {
        List<Double> out = new ArrayList<>();
        double first = Math.ceil(min / step - 1e-9) * step;
        for (int i = 0; i <= 50; i++) {
            double t = first + i * step;
            if (t > max + step * 1e-9) break;
            out.add(t);
        }
        return out;
    }

    /** A tick's label, with as many decimals as the step needs; large values compacted (12k, 1.5M). */
    String label(double v) {
        if (Math.abs(v) < step * 1e-6) v = 0;
        double a = Math.abs(v);
        if (step < 1e-3) return v == 0 ? "0" : scientific(v, step);
        if (a >= 1e6 && step >= 1e5) return compact(v / 1e6, step / 1e6) + "M";
        if (a >= 1e4 && step >= 1e3) return compact(v / 1e3, step / 1e3) + "k";
        return compact(v, step);
    }

    /** A fraction's tick as a percentage. */
    String percentLabel(double v) {
        return compact(100 * v, 100 * step) + "%";
    }

    /** Small values as mantissa and exponent, e.g. 2e-4 or 2.5e-4, so that tick labels stay short. */
    private static String scientific(double v, double step) {
        int exp = (int) Math.floor(Math.log10(Math.abs(v)) + 1e-9);
        double mantissa = v / Math.pow(10, exp);
        String m = compact(mantissa, step / Math.pow(10, exp));
        if (m.contains(".")) m = m.replaceAll("0+$", "").replaceAll("\\.$", "");
        return m + "e" + exp;
    }

    private static String compact(double v, double step) {
        int decimals = 0;
        while (decimals < 6 && Math.abs(step * Math.pow(10, decimals) - Math.rint(step * Math.pow(10, decimals))) > 1e-6) {
            decimals++;
        }
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
}
