package org.moe4j.train.report;

import static org.moe4j.train.report.Html.coord;
import static org.moe4j.train.report.Html.esc;

import java.util.function.IntFunction;

/**
 * The class x expert heatmap of one layer: a row per class with its name, a column per expert; a cell's color is
 * the share of the class's assignments that went to the expert (each row sums to 100%), on a scale from 0 to the
 * largest share, drawn as a legend. Experts' overall loads sit under the columns; hovering a cell gives its counts.
 */
final class Heatmap {
    private static final int ROW = 26, HEADER = 44, FOOTER = 40, LEGEND = 92, PAD = 10, MAX_LABEL_CHARS = 24;

    private Heatmap() {}

    static String svg(ClassExpertCounts m, IntFunction<String> className, int maxWidth) {
        int classes = m.classes(), experts = m.experts();
        if (classes == 0 || experts == 0) {
            StringBuilder sb = LineChart.open(maxWidth, 160);
            LineChart.placeholder(sb, maxWidth, 160, "no class x expert counts");
            return sb.append("</svg>").toString();
        }
        int longest = 0;
        for (int c = 0; c < classes; c++) longest = Math.max(longest, shortName(className.apply(c)).length());
        int labelWidth = (int) Math.clamp(12 + 6.8 * longest, 60, 190);
        double cell = Math.clamp((maxWidth - labelWidth - LEGEND - PAD) / (double) experts, 10, 60);
        int width = (int) Math.ceil(labelWidth + cell * experts + LEGEND + PAD);
        int height = HEADER + ROW * classes + FOOTER;

        long total = 0;
        double maxShare = 0;
        double[][] share = new double[classes][experts];
        for (int c = 0; c < classes; c++) {
            long row = m.rowTotal(c);
            total += row;
            for (int e = 0; e < experts; e++) {
                share[c][e] = row == 0 ? Double.NaN : (double) m.count(c, e) / row;
                if (row > 0) maxShare = Math.max(maxShare, share[c][e]);
            }
        }
        // The scale's top: the largest share, rounded up to a tidy 5%; at least the even share 1/experts.
        double top = Math.min(1, Math.ceil(Math.max(maxShare, 1.0 / experts) * 20 - 1e-9) / 20);

        StringBuilder sb = LineChart.open(width, height);
        boolean numbers = cell >= 30;
        sb.append("<text class=\"note\" x=\"").append(coord(labelWidth + cell * experts / 2)).append("\" y=\"14\" text-anchor=\"middle\">")
                .append("expert</text>");
        for (int e = 0; e < experts; e++) {
            double x = labelWidth + cell * (e + 0.5);
            if (cell >= 16 || e % 4 == 0) {
                sb.append("<text class=\"col\" x=\"").append(coord(x)).append("\" y=\"").append(HEADER - 9)
                        .append("\" text-anchor=\"middle\">").append(e).append("</text>");
            }
        }
        for (int c = 0; c < classes; c++) {
            double y = HEADER + ROW * c;
            String name = className.apply(c);
            sb.append("<text class=\"row\" x=\"").append(labelWidth - 8).append("\" y=\"").append(coord(y + ROW / 2.0))
                    .append("\" dy=\"0.32em\" text-anchor=\"end\"><title>").append(esc(name)).append("</title>")
                    .append(esc(shortName(name))).append("</text>");
            long row = m.rowTotal(c);
            for (int e = 0; e < experts; e++) {
                double x = labelWidth + cell * e;
                double t = share[c][e] / top;
                String fill = Double.isNaN(share[c][e]) ? "#eeeeee" : Palette.sequential(t);
                sb.append("<rect class=\"cell\" x=\"").append(coord(x)).append("\" y=\"").append(coord(y)).append("\" width=\"")
                        .append(coord(cell)).append("\" height=\"").append(ROW).append("\" fill=\"").append(fill).append("\"><title>");
                if (row == 0) {
                    sb.append(esc(name + ": no tokens of this class were routed"));
                } else {
                    long col = m.columnTotal(e);
                    sb.append(esc(name + " \u2192 expert " + e + ": " + Html.pct(share[c][e], 1) + " of the class ("
                            + Html.count(m.count(c, e)) + " of " + Html.count(row) + " assignments); "
                            + Html.pct(col == 0 ? 0 : (double) m.count(c, e) / col, 1) + " of expert " + e + "'s load"));
                }
                sb.append("</title></rect>");
                if (numbers && row > 0) {
                    sb.append("<text class=\"val").append(Palette.darkAt(t) ? " on-dark" : "").append("\" x=\"")
                            .append(coord(x + cell / 2)).append("\" y=\"").append(coord(y + ROW / 2.0))
                            .append("\" dy=\"0.32em\" text-anchor=\"middle\">")
                            .append(Math.round(100 * share[c][e])).append("</text>");
                }
            }
        }
        // Each expert's share of all assignments, under its column.
        double footY = HEADER + ROW * classes;
        sb.append("<text class=\"note\" x=\"").append(labelWidth - 8).append("\" y=\"").append(coord(footY + 18))
                .append("\" text-anchor=\"end\">load</text>");
        for (int e = 0; e < experts; e++) {
            if (experts > 16 && e % 2 == 1) continue;
            double load = total == 0 ? 0 : (double) m.columnTotal(e) / total;
            sb.append("<text class=\"foot\" x=\"").append(coord(labelWidth + cell * (e + 0.5))).append("\" y=\"")
                    .append(coord(footY + 18)).append("\" text-anchor=\"middle\"><title>")
                    .append(esc("expert " + e + " takes " + Html.pct(load, 1) + " of all assignments (even: "
                            + Html.pct(1.0 / experts, 1) + ")")).append("</title>")
                    .append(Html.pct(load, cell >= 40 ? 1 : 0)).append("</text>");
        }
        sb.append("<rect class=\"frame\" x=\"").append(labelWidth).append("\" y=\"").append(HEADER).append("\" width=\"")
                .append(coord(cell * experts)).append("\" height=\"").append(ROW * classes).append("\"/>");
        legend(sb, labelWidth + cell * experts + 24, HEADER, ROW * classes, top);
        return sb.append("</svg>").toString();
    }

    /** A vertical color bar from 0 (bottom) to {@code top} with ticks at round percentages. */
    private static void legend(StringBuilder sb, double x, double y, double height, double top) {
        int steps = 24;
        double h = height / steps;
        for (int i = 0; i < steps; i++) {
            double t = (i + 0.5) / steps;
            sb.append("<rect x=\"").append(coord(x)).append("\" y=\"").append(coord(y + height - (i + 1) * h)).append("\" width=\"14\" height=\"")
                    .append(coord(h + 0.6)).append("\" fill=\"").append(Palette.sequential(t)).append("\"/>");
        }
        sb.append("<rect class=\"frame\" x=\"").append(coord(x)).append("\" y=\"").append(coord(y)).append("\" width=\"14\" height=\"")
                .append(coord(height)).append("\"/>");
        double step = Axis.niceStep(top / 4);
        for (int k = 0; k <= 8 && k * step <= top + 1e-9; k++) {
            double v = k * step;
            double ty = y + height - height * v / top;
            sb.append("<line class=\"axis\" x1=\"").append(coord(x + 14)).append("\" x2=\"").append(coord(x + 18)).append("\" y1=\"")
                    .append(coord(ty)).append("\" y2=\"").append(coord(ty)).append("\"/>");
            sb.append("<text class=\"tick\" x=\"").append(coord(x + 21)).append("\" y=\"").append(coord(ty))
                    .append("\" dy=\"0.32em\">").append(Html.pct(v, step < 0.01 ? 1 : 0)).append("</text>");
        }
        sb.append("<text class=\"note\" x=\"").append(coord(x)).append("\" y=\"").append(coord(y - 10))
                .append("\">of class</text>");
    }

    private static String shortName(String name) {
        return name.length() <= MAX_LABEL_CHARS ? name : name.substring(0, MAX_LABEL_CHARS - 1) + "\u2026";
    }
}
