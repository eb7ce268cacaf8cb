package org.moe4j.train.report;

import static org.moe4j.train.report.Html.coord;
import static org.moe4j.train.report.Html.esc;

import java.util.ArrayList;
import java.util.List;
import org.moe4j.moe.RouterStats;

/**
 * Expert load over training: for each window between two routing records, one column stacked from each
 * expert's share of the assignments (100% in all). A balanced layer shows even bands; a collapsing one shows a
 * band swallowing the others. Each band of each window has a tooltip with its counts.
 */
final class StackedShareChart {
    /** Windows merged into at most this many columns, so that a long run stays light. */
    static final int MAX_COLUMNS = 100;
    /** And at most this many bands (columns x experts): each is an element with a tooltip. */
    static final int MAX_BANDS = 3000;

    /** One column: the steps (from, to] and the stats summed over them. */
    record Window(long from, long to, RouterStats stats) {}

    private StackedShareChart() {}

    /**
     * Windows from consecutive stats of one layer: each spans from the previous record's step (0 before the
     * first) to its own, merged evenly down to {@link #MAX_COLUMNS}, fewer for many experts.
     */
    static List<Window> windows(List<Long> steps, List<RouterStats> stats) {
        int experts = stats.isEmpty() ? 1 : Math.max(1, stats.getLast().experts());
        return windows(steps, stats, Math.clamp(MAX_BANDS / experts, 20, MAX_COLUMNS));
    }

    static List<Window> windows(List<Long> steps, List<RouterStats> stats, int maxColumns) {
        List<Window> raw = new ArrayList<>();
        long prev = 0;
        for (int i = 0; i < steps.size(); i++) {
            long to = steps.get(i);
            long from = i == 0 ? Math.min(prev, to - 1) : steps.get(i - 1);
            raw.add(new Window(from, to, stats.get(i)));
        }
        if (raw.size() <= maxColumns) return raw;
        List<Window> merged = new ArrayList<>();
        int n = raw.size();
        for (int b = 0; b < maxColumns; b++) {
            int lo = (int) ((long) b * n / maxColumns), hi = (int) ((long) (b + 1) * n / maxColumns);
            RouterStats sum = raw.get(lo).stats();
            for (int i = lo + 1; i < hi; i++) {
                RouterStats next = raw.get(i).stats();
                if (next.experts() == sum.experts()) sum = sum.merge(next);
            }
            merged.add(new Window(raw.get(lo).from(), raw.get(hi - 1).to(), sum));
        }
        return merged;
    }

    static String svg(List<Window> windows, int experts, int width, int height) {
        StringBuilder sb = LineChart.open(width, height);
        if (windows.isEmpty() || experts == 0) {
            LineChart.placeholder(sb, width, height, "no routing recorded");
            return sb.append("</svg>").toString();
        }
        int left = LineChart.LEFT, right = width - LineChart.RIGHT, top = LineChart.TOP, bottom = height - LineChart.BOTTOM;
        long xLo = windows.getFirst().from(), xHi = windows.getLast().to();
        Axis xa = Axis.steps(xLo, xHi, 7, left, right);
        Axis ya = Axis.fixed(0, 1, 0.25, bottom, top);
        LineChart.axes(sb, xa, ya, width, height, true, "step", "share of assignments");
        sb.append("<g class=\"stack\">");
        for (int i = 0; i < windows.size(); i++) {
            Window w = windows.get(i);
            RouterStats s = w.stats();
            long total = s.totalRouted();
            double x0 = xa.px(w.from()), x1 = xa.px(w.to());
            // Each column reaches a little under the next one, so that anti-aliasing leaves no seams between them.
            double overlap = i + 1 < windows.size() ? 0.8 : 0;
            String x = coord(x0), wd = coord(Math.max(0.5, x1 - x0 + overlap));
            if (total == 0) {
                sb.append("<rect class=\"idle\" x=\"").append(x).append("\" y=\"").append(top).append("\" width=\"").append(wd)
                        .append("\" height=\"").append(bottom - top).append("\"><title>steps ").append(w.from() + 1)
                        .append('\u2013').append(w.to()).append(": no tokens routed</title></rect>");
                continue;
            }
            double cum = 0;
            for (int e = 0; e < Math.min(experts, s.experts()); e++) {
                double share = (double) s.routed()[e] / total;
                if (share <= 0) continue;
                double yTop = ya.px(cum + share), yBottom = ya.px(cum);
                cum += share;
                sb.append("<rect x=\"").append(x).append("\" y=\"").append(coord(yTop)).append("\" width=\"").append(wd)
                        .append("\" height=\"").append(coord(yBottom - yTop)).append("\" fill=\"").append(Palette.categorical(e))
                        .append("\"><title>").append(esc("expert " + e + ", steps " + (w.from() + 1) + "\u2013" + w.to() + ": "
                                + Html.pct(share, 1) + " (" + Html.count(s.routed()[e]) + " of " + Html.count(total)
                                + " assignments" + (s.dropped()[e] > 0 ? ", " + Html.count(s.dropped()[e]) + " dropped" : "")
                                + ")"))
                        .append("</title></rect>");
            }
        }
        sb.append("</g>");
        // Where every expert would sit under perfect balance.
        double uniform = 1.0 / experts;
        if (experts <= 16) {
            for (int k = 1; k < experts; k++) {
                String y = coord(ya.px(k * uniform));
                sb.append("<line class=\"even\" x1=\"").append(left).append("\" x2=\"").append(right).append("\" y1=\"")
                        .append(y).append("\" y2=\"").append(y).append("\"/>");
            }
        }
        if (experts > 16) {
            // Too many swatches for a legend: say how the bands are ordered instead.
            sb.append("<text class=\"note\" x=\"").append(left).append("\" y=\"16\">expert 0 at the bottom, expert ")
                    .append(experts - 1).append(" at the top; hover a band to see which it is</text>");
            return sb.append("</svg>").toString();
        }
        List<LineChart.LegendEntry> legend = new ArrayList<>();
        for (int e = 0; e < experts; e++) {
            legend.add(new LineChart.LegendEntry(experts <= 8 ? "expert " + e : Integer.toString(e), Palette.categorical(e),
                    LineChart.Style.LINE));
        }
        LineChart.legend(sb, legend, left, right);
        return sb.append("</svg>").toString();
    }
}
