package org.moe4j.train.report;

import java.util.Locale;

/** Colors: distinct hues for series and experts, and a sequential scale for the heatmap. */
final class Palette {
    private Palette() {}

    /** Twelve well-separated hues, readable on white; beyond them, golden-angle hues. */
    private static final String[] CATEGORICAL = {
        "#3b6fb6", "#e8833a", "#3a9a5b", "#d2453f", "#8a63b8", "#8c5a45",
        "#d571b5", "#7f7f7f", "#b5b531", "#2fb3c4", "#1f3f7a", "#f2b134",
    };

    static String categorical(int i) {
        if (i < CATEGORICAL.length) return CATEGORICAL[i];
        double hue = (i * 137.508) % 360;
        return String.format(Locale.ROOT, "hsl(%.0f,55%%,%d%%)", hue, 40 + (i % 3) * 10);
    }

    // Light to dark blue-green: a single-hue ramp reads as "more" without a legend, and prints in grey.
    private static final int[][] RAMP = {
        {0xf4, 0xf8, 0xfb}, {0xc9, 0xe0, 0xef}, {0x8c, 0xc0, 0xdd}, {0x4a, 0x98, 0xc9}, {0x1f, 0x6e, 0xb0}, {0x0b, 0x3c, 0x7d},
    };

    /** The color of t in [0, 1] on the sequential scale. */
    static String sequential(double t) {
        double x = Double.isFinite(t) ? Math.clamp(t, 0, 1) * (RAMP.length - 1) : 0;
        int i = Math.min(RAMP.length - 2, (int) Math.floor(x));
        double f = x - i;
        int[] a = RAMP[i], b = RAMP[i + 1];
        return String.format(Locale.ROOT, "#%02x%02x%02x", mix(a[0], b[0], f), mix(a[1], b[1], f), mix(a[2], b[2], f));
    }

    /** Whether text on the sequential color of t should be white. */
    static boolean darkAt(double t) {
        return Double.isFinite(t) && t > 0.55;
    }

    private static int mix(int a, int b, double f) {
        return (int) Math.round(a + (b - a) * f);
    }
}
