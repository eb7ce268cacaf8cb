package org.moe4j.train.report;

import static org.moe4j.train.report.Html.coord;
import static org.moe4j.train.report.Html.esc;

import java.util.ArrayList;
import java.util.List;

/**
 * An SVG line chart: axes with nice ticks and grid lines, axis labels, a legend, lines (broken where a value is
 * missing), markers, dashed reference lines, and hover tooltips through SVG {@code <title>} elements.
 */
final class LineChart {
    /** How a series is drawn. */
    enum Style {
        /** A solid line, with invisible hover targets along it. */
        LINE,
        /** A thin pale line behind the others (raw values under a smoothed curve); no tooltips. */
        FAINT,
        /** A dot per point joined by a dashed line (evaluations). */
        MARKERS
    }

    /**
     * One series; {@code tips[i]} is point i's tooltip (null: none).
     *
     * @param x [points]
     * @param y [points]; NaN leaves a gap
     */
    record Series(String name, String color, double[] x, double[] y, Style style, String[] tips) {}

    private record Reference(double y, String label) {}

    static final int LEFT = 58, RIGHT = 18, TOP = 38, BOTTOM = 44;
    private static final int MAX_HOVER_POINTS = 90;

    private final String ariaLabel, xLabel, yLabel;
    private final List<Series> series = new ArrayList<>();
    private final List<Reference> references = new ArrayList<>();
    private boolean percent, includeZero;
    private double fixedMin = Double.NaN, fixedMax = Double.NaN;
    private String emptyMessage = "no data recorded";

    LineChart(String ariaLabel, String xLabel, String yLabel) {
        this.ariaLabel = ariaLabel;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    /** Values are fractions, labelled as percentages. */
    LineChart percent() {
        percent = true;
        return this;
    }

    LineChart includeZero() {
        includeZero = true;
        return this;
    }

    /** The y axis spans at least [min, max] (e.g. 0..1 for a share). */
    LineChart yAtLeast(double min, double max) {
        fixedMin = min;
        fixedMax = max;
        return this;
    }

    LineChart emptyMessage(String message) {
        emptyMessage = message;
        return this;
    }

    LineChart add(Series s) {
        series.add(s);
        return this;
    }

    /** A dashed horizontal line with a label at its right end. */
    LineChart reference(double y, String label) {
        if (Double.isFinite(y)) references.add(new Reference(y, label));
        return this;
    }

    boolean hasData() {
        for (Series s : series) {
            for (int i = 0; i < s.x.length; i++) if (Double.isFinite(s.x[i]) && Double.isFinite(s.y[i])) return true;
        }
        return false;
    }

    String svg(int width, int height) {
        StringBuilder sb = open(width, height);
        if (!hasData()) {
            placeholder(sb, width, height, emptyMessage);
            return sb.append("</svg>").toString();
        }
        double xLo = Double.POSITIVE_INFINITY, xHi = Double.NEGATIVE_INFINITY;
        double yLo = Double.POSITIVE_INFINITY, yHi = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x.length; i++) {
                if (!Double.isFinite(s.x[i]) || !Double.isFinite(s.y[i])) continue;
                xLo = Math.min(xLo, s.x[i]);
                xHi = Math.max(xHi, s.x[i]);
                yLo = Math.min(yLo, s.y[i]);
                yHi = Math.max(yHi, s.y[i]);
            }
        }
        for (Reference r : references) {
            yLo = Math.min(yLo, r.y);
            yHi = Math.max(yHi, r.y);
        }
        if (includeZero) yLo = Math.min(0, yLo);
        if (!Double.isNaN(fixedMin)) {
            yLo = Math.min(yLo, fixedMin);
            yHi = Math.max(yHi, fixedMax);
        }
        int plotRight = width - RIGHT, plotBottom = height - BOTTOM;
        Axis xa = Axis.steps(xLo, xHi, 7, LEFT, plotRight);
        Axis ya = Axis.nice(yLo, yHi, 6, plotBottom, TOP);
        axes(sb, xa, ya, width, height, percent, xLabel, yLabel);
        for (Reference r : references) {
            double y = ya.px(r.y);
            sb.append("<line class=\"ref\" x1=\"").append(LEFT).append("\" x2=\"").append(plotRight)
                    .append("\" y1=\"").append(coord(y)).append("\" y2=\"").append(coord(y)).append("\"><title>")
                    .append(esc(r.label)).append("</title></line>");
            sb.append("<text class=\"ref-label\" x=\"").append(plotRight - 4).append("\" y=\"").append(coord(y - 4))
                    .append("\" text-anchor=\"end\">").append(esc(r.label)).append("</text>");
        }
        for (Series s : series) if (s.style == Style.FAINT) drawSeries(sb, s, xa, ya);
        for (Series s : series) if (s.style != Style.FAINT) drawSeries(sb, s, xa, ya);
        legend(sb, series.stream().filter(s -> s.name != null).map(s -> new LegendEntry(s.name, s.color, s.style)).toList(),
                LEFT, width - RIGHT);
        return sb.append("</svg>").toString();
    }

    record LegendEntry(String name, String color, Style style) {}

    static StringBuilder open(int width, int height) {
        return new StringBuilder(4096).append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 ")
                .append(width).append(' ').append(height).append("\" width=\"").append(width).append("\" height=\"")
                .append(height).append("\" role=\"img\">");
    }

    static void placeholder(StringBuilder sb, int width, int height, String message) {
        sb.append("<rect class=\"empty\" x=\"").append(LEFT).append("\" y=\"").append(TOP).append("\" width=\"")
                .append(width - LEFT - RIGHT).append("\" height=\"").append(height - TOP - BOTTOM).append("\"/>");
        sb.append("<text class=\"empty-label\" x=\"").append(coord((LEFT + width - RIGHT) / 2.0)).append("\" y=\"")
                .append(coord((TOP + height - BOTTOM) / 2.0)).append("\" text-anchor=\"middle\">").append(esc(message))
                .append("</text>");
    }

    /** Grid, tick labels and axis titles shared by the line and the stacked charts. */
    static void axes(StringBuilder sb, Axis xa, Axis ya, int width, int height, boolean percentY, String xLabel,
            String yLabel) {
        int plotRight = width - RIGHT, plotBottom = height - BOTTOM;
        sb.append("<rect class=\"plot\" x=\"").append(LEFT).append("\" y=\"").append(TOP).append("\" width=\"")
                .append(plotRight - LEFT).append("\" height=\"").append(plotBottom - TOP).append("\"/>");
        for (double t : ya.ticks()) {
            String y = coord(ya.px(t));
            sb.append("<line class=\"grid\" x1=\"").append(LEFT).append("\" x2=\"").append(plotRight).append("\" y1=\"")
                    .append(y).append("\" y2=\"").append(y).append("\"/>");
            sb.append("<text class=\"tick\" x=\"").append(LEFT - 6).append("\" y=\"").append(y)
                    .append("\" dy=\"0.32em\" text-anchor=\"end\">").append(esc(percentY ? ya.percentLabel(t) : ya.label(t)))
                    .append("</text>");
        }
        for (double t : xa.ticks()) {
            String x = coord(xa.px(t));
            sb.append("<line class=\"xtick\" x1=\"").append(x).append("\" x2=\"").append(x).append("\" y1=\"")
                    .append(plotBottom).append("\" y2=\"").append(plotBottom + 5).append("\"/>");
            sb.append("<text class=\"tick\" x=\"").append(x).append("\" y=\"").append(plotBottom + 18)
                    .append("\" text-anchor=\"middle\">").append(esc(xa.label(t))).append("</text>");
        }
        sb.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" x2=\"").append(plotRight).append("\" y1=\"")
                .append(plotBottom).append("\" y2=\"").append(plotBottom).append("\"/>");
        sb.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" x2=\"").append(LEFT).append("\" y1=\"")
                .append(TOP).append("\" y2=\"").append(plotBottom).append("\"/>");
        sb.append("<text class=\"axis-label\" x=\"").append(coord((LEFT + plotRight) / 2.0)).append("\" y=\"")
                .append(height - 6).append("\" text-anchor=\"middle\">").append(esc(xLabel)).append("</text>");
        sb.append("<text class=\"axis-label\" transform=\"translate(14,").append(coord((TOP + plotBottom) / 2.0))
                .append(") rotate(-90)\" text-anchor=\"middle\">").append(esc(yLabel)).append("</text>");
    }

    /** Legend entries in a row above the plot, wrapping to a second row when they do not fit. */
    static void legend(StringBuilder sb, List<LegendEntry> entries, int left, int right) {
        double x = left, y = 16;
        for (LegendEntry e : entries) {
            double w = 26 + 6.6 * e.name.length() + 14;
            if (x + w > right && x > left) {
                x = left;
                y += 16;
            }
            sb.append("<g class=\"legend\">");
            if (e.style == Style.MARKERS) {
                sb.append("<circle cx=\"").append(coord(x + 9)).append("\" cy=\"").append(coord(y - 4)).append("\" r=\"4\" fill=\"")
                        .append(e.color).append("\"/>");
            } else {
                sb.append("<rect x=\"").append(coord(x)).append("\" y=\"").append(coord(y - (e.style == Style.FAINT ? 5 : 6)))
                        .append("\" width=\"18\" height=\"").append(e.style == Style.FAINT ? 3 : 4).append("\" rx=\"1\" fill=\"")
                        .append(e.color).append("\"").append(e.style == Style.FAINT ? " opacity=\"0.45\"" : "").append("/>");
            }
            sb.append("<text x=\"").append(coord(x + 24)).append("\" y=\"").append(coord(y)).append("\">").append(esc(e.name))
                    .append("</text></g>");
            x += w;
        }
    }

    private void drawSeries(StringBuilder sb, Series s, Axis xa, Axis ya) {
        String cls = switch (s.style) {
            case LINE -> "line";
            case FAINT -> "line faint";
            case MARKERS -> "line dashed";
        };
        // One polyline per run of present values, so that a missing value shows as a gap.
        StringBuilder points = new StringBuilder();
        int run = 0;
        double lastX = 0, lastY = 0;
        for (int i = 0; i <= s.x.length; i++) {
            boolean ok = i < s.x.length && Double.isFinite(s.x[i]) && Double.isFinite(s.y[i]);
            if (ok) {
                lastX = xa.px(s.x[i]);
                lastY = ya.clampedPx(s.y[i]);
                points.append(run++ > 0 ? " " : "").append(coord(lastX)).append(',').append(coord(lastY));
            } else if (run > 0) {
                if (run == 1 && s.style != Style.MARKERS) {
                    // A lone value (a one-step run) has no line to draw: show it as a dot.
                    sb.append("<circle class=\"dot\" cx=\"").append(coord(lastX)).append("\" cy=\"").append(coord(lastY))
                            .append("\" r=\"3\" fill=\"").append(s.color).append("\"/>");
                }
                if (run > 1) {
                    sb.append("<polyline class=\"").append(cls).append("\" stroke=\"").append(s.color).append("\" points=\"")
                            .append(points).append("\">");
                    if (s.name != null) sb.append("<title>").append(esc(s.name)).append("</title>");
                    sb.append("</polyline>");
                }
                points.setLength(0);
                run = 0;
            }
        }
        if (s.style == Style.FAINT || s.tips == null) return;
        boolean markers = s.style == Style.MARKERS;
        int n = s.x.length;
        int stride = markers ? 1 : Math.max(1, (int) Math.ceil(n / (double) MAX_HOVER_POINTS));
        for (int i = 0; i < n; i += stride) {
            int j = markers ? i : Math.min(n - 1, i + stride / 2);
            if (!Double.isFinite(s.x[j]) || !Double.isFinite(s.y[j])) continue;
            sb.append("<circle class=\"").append(markers ? "marker" : "hover").append("\" cx=\"").append(coord(xa.px(s.x[j])))
                    .append("\" cy=\"").append(coord(ya.clampedPx(s.y[j]))).append("\" r=\"").append(markers ? "4" : "6")
                    .append("\"").append(markers ? " fill=\"" + s.color + "\"" : "").append(">");
            if (s.tips[j] != null) sb.append("<title>").append(esc(s.tips[j])).append("</title>");
            sb.append("</circle>");
        }
    }
}
