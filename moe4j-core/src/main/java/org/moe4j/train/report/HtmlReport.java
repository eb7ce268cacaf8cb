package org.moe4j.train.report;

import static org.moe4j.train.report.Html.esc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.moe4j.common.Moe4jException;
import org.moe4j.moe.RouterStats;
import org.moe4j.train.progress.MetricsHistory;
import org.moe4j.train.progress.MetricsRecord.Eval;
import org.moe4j.train.progress.MetricsRecord.Routing;
import org.moe4j.train.progress.MetricsRecord.Step;
import org.moe4j.train.progress.MetricsRecord.Summary;

/**
 * The run report: one self-contained HTML page (inline CSS and SVG, no scripts, no external files) with the loss
 * and accuracy curves, each MoE layer's expert load over training and class x expert heatmap, drop rates, router
 * entropy and load imbalance, and the run's configuration and provenance. Every string from data is escaped; the
 * page is also well-formed XML.
 */
public final class HtmlReport {
    private static final int CHART_W = 560, CHART_H = 300, SMALL_H = 220;
    private static final String TRAIN_COLOR = Palette.categorical(0);
    /** Raw per-step values beyond this many points are averaged in buckets (the smoothed curve uses them all). */
    private static final int MAX_RAW_POINTS = 1200;

    private HtmlReport() {}

    /** Writes the page to {@code file} through a temporary file and a rename, so a reader never sees half a page. */
    public static void write(Path file, MetricsHistory metrics, ReportInput input) {
        String html = render(metrics, input);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            Files.writeString(tmp, html, StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new Moe4jException("report: cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The page as a string. */
    public static String render(MetricsHistory metrics, ReportInput input) {
        StringBuilder sb = new StringBuilder(64 * 1024);
        sb.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>")
                .append(esc(input.title())).append(" \u2013 moe4j report</title>\n<style>").append(CSS).append("</style>\n</head>\n<body>\n<main>\n");
        header(sb, metrics, input);
        training(sb, metrics);
        experts(sb, metrics, input);
        routerHealth(sb, metrics);
        run(sb, input);
        sb.append("<footer>Written by moe4j. This page is self-contained: no scripts and no external files; hover a point,")
                .append(" a band or a cell for its numbers.</footer>\n</main>\n</body>\n</html>\n");
        return sb.toString();
    }

    // ---------------------------------------------------------------------------------------------- header

    private static void header(StringBuilder sb, MetricsHistory m, ReportInput input) {
        Optional<Summary> summary = m.summary();
        Step last = m.steps().isEmpty() ? null : m.steps().getLast();
        Eval lastEval = finalEval(m);
        sb.append("<header>\n<h1>").append(esc(input.title())).append("</h1>\n<p class=\"sub\">");
        String status = summary.map(Summary::status).orElse(last == null ? "no training steps recorded" : "in progress or interrupted");
        sb.append("<span class=\"status ").append(statusClass(status)).append("\">").append(esc(status)).append("</span>");
        if (last != null) {
            sb.append(" \u00b7 step ").append(Html.count(last.step())).append(" \u00b7 epoch ").append(last.epoch());
        }
        if (!m.layerNames().isEmpty()) sb.append(" \u00b7 ").append(m.layerNames().size()).append(" MoE layer")
                .append(m.layerNames().size() == 1 ? "" : "s");
        sb.append("</p>\n<div class=\"tiles\">\n");
        if (lastEval != null && !Double.isNaN(lastEval.accuracy())) {
            tile(sb, esc(lastEval.split()) + " accuracy", Html.pct(lastEval.accuracy(), 2), "epoch " + lastEval.epoch());
        }
        if (lastEval != null) tile(sb, esc(lastEval.split()) + " loss", Html.num(lastEval.loss(), 4), "step " + Html.count(lastEval.step()));
        if (lastEval != null && !Double.isNaN(lastEval.bitsPerByte())) {
            tile(sb, esc(lastEval.split()) + " bits per byte", Html.num(lastEval.bitsPerByte(), 4), "");
        }
        double trainLoss = summary.map(Summary::trainLoss).filter(v -> !Double.isNaN(v)).orElse(endOfSmoothed(m, Step::loss));
        if (!Double.isNaN(trainLoss)) tile(sb, "train loss", Html.num(trainLoss, 4), "smoothed, at the end");
        if (last != null) {
            double elapsed = summary.map(Summary::elapsedSeconds).filter(Double::isFinite).orElse(last.elapsedSeconds());
            tile(sb, "training time", Html.duration(elapsed), Html.count(last.step()) + (last.step() == 1 ? " step" : " steps"));
            double speed = summary.map(Summary::itemsPerSecond).filter(Double::isFinite).orElse(meanThroughput(m));
            if (Double.isFinite(speed)) tile(sb, "throughput", Html.num(speed, 3) + "/s", input.unit() + " per second");
        }
        sb.append("</div>\n</header>\n");
    }

    private static String statusClass(String status) {
        String s = status.toLowerCase(Locale.ROOT);
        if (s.startsWith("completed") || s.startsWith("max-steps")) return "ok";
        if (s.contains("nan") || s.contains("stopped") || s.contains("fail") || s.contains("spike")) return "bad";
        return "info";
    }

    /** The last evaluation, preferring the test split when the final epoch evaluated several. */
    private static Eval finalEval(MetricsHistory m) {
        if (m.evals().isEmpty()) return null;
        Eval last = m.evals().getLast();
        for (Eval e : m.evals().reversed()) {
            if (e.step() != last.step()) break;
            if (e.split().equalsIgnoreCase("test")) return e;
        }
        return last;
    }

    private static void tile(StringBuilder sb, String label, String value, String note) {
        sb.append("<div class=\"tile\"><div class=\"label\">").append(label).append("</div><div class=\"value\">")
                .append(esc(value)).append("</div><div class=\"note\">").append(esc(note)).append("</div></div>\n");
    }

    // -------------------------------------------------------------------------------------------- training

    private static void training(StringBuilder sb, MetricsHistory m) {
        sb.append("<section>\n<h2>Training</h2>\n<div class=\"grid\">\n");
        List<String> splits = m.evalSplits();

        LineChart loss = new LineChart("loss", "step", "loss").emptyMessage("no training steps recorded");
        addTrainSeries(loss, m.steps(), Step::loss, "loss", false);
        for (int i = 0; i < splits.size(); i++) loss.add(evalSeries(m, splits.get(i), i, Eval::loss, "loss", false));
        card(sb, "Loss", "training loss per step (pale) and smoothed; evaluations as dots", loss.svg(CHART_W, CHART_H), false);

        boolean anyAccuracy = m.steps().stream().anyMatch(s -> Double.isFinite(s.accuracy()))
                || m.evals().stream().anyMatch(e -> Double.isFinite(e.accuracy()));
        boolean anyBpb = m.evals().stream().anyMatch(e -> Double.isFinite(e.bitsPerByte()))
                || m.steps().stream().anyMatch(s -> Double.isFinite(s.bitsPerByte()));
        if (anyAccuracy || !anyBpb) {
            LineChart acc = new LineChart("accuracy", "step", "accuracy").percent().emptyMessage("no accuracy recorded");
            addTrainSeries(acc, m.steps(), Step::accuracy, "accuracy", true);
            for (int i = 0; i < splits.size(); i++) acc.add(evalSeries(m, splits.get(i), i, Eval::accuracy, "accuracy", true));
            card(sb, "Accuracy", "training accuracy of each batch, smoothed; evaluations as dots", acc.svg(CHART_W, CHART_H), false);
        }
        if (anyBpb) {
            LineChart bpb = new LineChart("bits per byte", "step", "bits per byte");
            addTrainSeries(bpb, m.steps(), Step::bitsPerByte, "bits per byte", false);
            for (int i = 0; i < splits.size(); i++) {
                bpb.add(evalSeries(m, splits.get(i), i, Eval::bitsPerByte, "bits per byte", false));
            }
            card(sb, "Bits per byte", "next-token cross-entropy in bits per UTF-8 byte of text: training batches (pale, "
                    + "smoothed) and held-out evaluations as dots", bpb.svg(CHART_W, CHART_H), false);
        }
        if (m.steps().stream().anyMatch(s -> Double.isFinite(s.learningRate()))) {
            LineChart lr = new LineChart("learning rate", "step", "learning rate").includeZero();
            lr.add(series(m.steps(), Step::learningRate, "learning rate", TRAIN_COLOR, LineChart.Style.LINE, "lr", false, false));
            card(sb, "Learning rate", "the schedule as applied", lr.svg(CHART_W, SMALL_H), false);
        }
        if (m.steps().stream().anyMatch(s -> Double.isFinite(s.auxLoss()) && s.auxLoss() != 0)) {
            LineChart aux = new LineChart("auxiliary loss", "step", "auxiliary loss").includeZero();
            addTrainSeries(aux, m.steps(), Step::auxLoss, "auxiliary loss", false);
            card(sb, "Auxiliary loss", "the weighted balancing and router losses added to the task loss",
                    aux.svg(CHART_W, SMALL_H), false);
        }
        sb.append("</div>\n</section>\n");
    }

    private interface StepValue {
        double of(Step s);
    }

    private interface EvalValue {
        double of(Eval e);
    }

    /** The raw values, pale, under a smoothed line with tooltips. */
    private static void addTrainSeries(LineChart chart, List<Step> steps, StepValue value, String what, boolean percent) {
        if (steps.stream().noneMatch(s -> Double.isFinite(value.of(s)))) return;
        if (steps.size() > 3) {
            chart.add(series(steps, value, "train (per step)", TRAIN_COLOR, LineChart.Style.FAINT, what, percent, false));
        }
        chart.add(series(steps, value, steps.size() > 3 ? "train (smoothed)" : "train", TRAIN_COLOR, LineChart.Style.LINE,
                what, percent, steps.size() > 3));
    }

    private static LineChart.Series series(List<Step> steps, StepValue value, String name, String color,
            LineChart.Style style, String what, boolean percent, boolean smooth) {
        int n = steps.size();
        double[] x = new double[n], y = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = steps.get(i).step();
            y[i] = value.of(steps.get(i));
        }
        if (smooth) y = Smoothing.centered(y);
        if (style == LineChart.Style.FAINT) {
            if (n > MAX_RAW_POINTS) {
                double[][] b = Smoothing.buckets(x, y, MAX_RAW_POINTS);
                x = b[0];
                y = b[1];
            }
            return new LineChart.Series(name, color, x, y, style, null);
        }
        // A smooth curve loses nothing when thinned to every k-th step (the last one kept).
        int stride = Math.max(1, (int) Math.ceil(n / (double) MAX_RAW_POINTS));
        int kept = (n + stride - 1) / stride + ((n - 1) % stride == 0 ? 0 : 1);
        double[] tx = new double[kept], ty = new double[kept];
        String[] tips = new String[kept];
        for (int k = 0; k < kept; k++) {
            int i = Math.min(n - 1, k * stride);
            tx[k] = x[i];
            ty[k] = y[i];
            if (Double.isFinite(y[i])) {
                tips[k] = "step " + Html.count(steps.get(i).step()) + ", epoch " + steps.get(i).epoch() + ": " + what + " "
                        + (percent ? Html.pct(y[i], 2) : Html.num(y[i], 4)) + (smooth ? " (smoothed)" : "");
            }
        }
        return new LineChart.Series(name, color, tx, ty, style, tips);
    }

    private static LineChart.Series evalSeries(MetricsHistory m, String split, int index, EvalValue value, String what,
            boolean percent) {
        List<Eval> evals = m.evals().stream().filter(e -> e.split().equals(split)).toList();
        double[] x = new double[evals.size()], y = new double[evals.size()];
        String[] tips = new String[evals.size()];
        for (int i = 0; i < x.length; i++) {
            Eval e = evals.get(i);
            x[i] = e.step();
            y[i] = value.of(e);
            StringBuilder tip = new StringBuilder(split).append(", epoch ").append(e.epoch()).append(" (step ")
                    .append(Html.count(e.step())).append("): ").append(what).append(' ')
                    .append(percent ? Html.pct(y[i], 2) : Html.num(y[i], 4));
            if (!percent && Double.isFinite(e.accuracy())) tip.append(", accuracy ").append(Html.pct(e.accuracy(), 2));
            if (percent && Double.isFinite(e.loss())) tip.append(", loss ").append(Html.num(e.loss(), 4));
            tips[i] = tip.toString();
        }
        return new LineChart.Series(split, Palette.categorical(1 + index), x, y, LineChart.Style.MARKERS, tips);
    }

    private static double endOfSmoothed(MetricsHistory m, StepValue value) {
        if (m.steps().isEmpty()) return Double.NaN;
        double[] y = m.steps().stream().mapToDouble(value::of).toArray();
        double[] s = Smoothing.centered(y);
        for (int i = s.length - 1; i >= 0; i--) if (Double.isFinite(s[i])) return s[i];
        return Double.NaN;
    }

    private static double meanThroughput(MetricsHistory m) {
        return m.steps().stream().mapToDouble(Step::itemsPerSecond).filter(Double::isFinite).average().orElse(Double.NaN);
    }

    // --------------------------------------------------------------------------------------------- experts

    private static void experts(StringBuilder sb, MetricsHistory m, ReportInput input) {
        Set<String> layers = new LinkedHashSet<>(m.layerNames());
        for (ClassExpertCounts c : input.classExpert()) layers.add(c.layer());
        for (ExpertTokens t : input.expertTokens()) layers.add(t.layer());
        sb.append("<section>\n<h2>Experts</h2>\n");
        if (layers.isEmpty()) {
            sb.append("<p class=\"muted\">No MoE layer reported its routing: a dense model, or a run that logged no router records.</p>\n</section>\n");
            return;
        }
        if (input.expertTokens().isEmpty()) {
            sb.append("<p class=\"muted\">How each MoE layer spreads its tokens over the experts during training, and which experts")
                    .append(" each class uses at the end. Even bands and a heatmap without a pattern mean the experts did not")
                    .append(" specialise; one band swallowing the others means the router collapsed.</p>\n");
        } else {
            sb.append("<p class=\"muted\">How each MoE layer spreads its tokens over the experts during training, and which")
                    .append(" tokens each expert receives in an evaluation pass. Top tokens that merely mirror the text's most")
                    .append(" common tokens (lift near 1) mean the experts did not specialise; one band swallowing the others")
                    .append(" means the router collapsed.</p>\n");
        }
        for (String layer : layers) {
            List<Long> steps = new ArrayList<>();
            List<RouterStats> stats = new ArrayList<>();
            for (Routing g : m.routing()) {
                for (RouterStats s : g.layers()) {
                    if (s.layer().equals(layer)) {
                        steps.add(g.step());
                        stats.add(s);
                    }
                }
            }
            ClassExpertCounts matrix = input.classExpert().stream().filter(c -> c.layer().equals(layer)).findFirst().orElse(null);
            ExpertTokens tokens = input.expertTokens().stream().filter(c -> c.layer().equals(layer)).findFirst().orElse(null);
            int experts = !stats.isEmpty() ? stats.getLast().experts() : matrix != null ? matrix.experts() : tokens.experts().size();
            sb.append("<h3>").append(esc(layer)).append(" <span class=\"muted\">").append(experts).append(" experts</span></h3>\n");
            sb.append("<div class=\"grid\">\n");
            // Many experts need the page's whole width, for the load chart as for the heatmap.
            boolean wide = experts > 10;
            card(sb, "Expert load over training", "each expert's share of the assignments"
                            + (experts <= 16 ? "; dashed lines mark an even split" : ""),
                    StackedShareChart.svg(StackedShareChart.windows(steps, stats), experts, wide ? 1100 : CHART_W, CHART_H), wide);
            if (tokens != null) {
                expertTokens(sb, tokens);
            } else if (matrix != null) {
                card(sb, "Class \u00d7 expert", "each class's assignments by expert, in percent (each row sums to 100)",
                        Heatmap.svg(matrix, input::className, wide ? 1060 : CHART_W), wide);
            } else {
                sb.append("<figure class=\"card\"><figcaption>Class \u00d7 expert</figcaption><p class=\"muted\">")
                        .append("No class counts were given for this layer.</p></figure>\n");
            }
            sb.append("</div>\n");
        }
        sb.append("</section>\n");
    }

    /** Each expert's most frequent input tokens in the evaluation pass, with its share and lift. */
    private static void expertTokens(StringBuilder sb, ExpertTokens t) {
        sb.append("<figure class=\"card wide table\"><figcaption>Tokens each expert prefers<span>from an evaluation pass over ")
                .append("held-out text: each expert's most frequent input tokens by share of that expert's assignments; lift = ")
                .append("that share over the token's share of all text (above 1: the expert prefers it)</span></figcaption>\n")
                .append("<table class=\"data\">\n<thead><tr><th>expert</th><th>load</th><th>top tokens (share, lift)</th>")
                .append("</tr></thead>\n<tbody>\n");
        for (int e = 0; e < t.experts().size(); e++) {
            ExpertTokens.Expert x = t.experts().get(e);
            sb.append("<tr><td>").append(e).append("</td><td>").append(Html.pct(x.layerShare(), 1))
                    .append("</td><td style=\"text-align:left;white-space:normal\">");
            if (x.top().isEmpty()) sb.append("<span class=\"muted\">no assignments</span>");
            for (int i = 0; i < x.top().size(); i++) {
                ExpertTokens.TokenShare s = x.top().get(i);
                sb.append(i > 0 ? " \u00b7 " : "").append("<code>").append(esc(s.token())).append("</code> ")
                        .append(Html.pct(s.share(), 1)).append(Double.isFinite(s.lift())
                                ? String.format(Locale.ROOT, " (\u00d7%.1f)", s.lift()) : "");
            }
            sb.append("</td></tr>\n");
        }
        sb.append("</tbody>\n</table>\n</figure>\n");
    }

    // ----------------------------------------------------------------------------------------------- router

    private static void routerHealth(StringBuilder sb, MetricsHistory m) {
        List<String> layers = m.layerNames();
        if (layers.isEmpty()) return;
        sb.append("<section>\n<h2>Router health</h2>\n<div class=\"grid\">\n");
        LineChart drops = new LineChart("drop rate", "step", "dropped assignments").percent().includeZero().yAtLeast(0, 0.01);
        LineChart entropy = new LineChart("router entropy", "step", "entropy (nats)").includeZero();
        LineChart cv = new LineChart("load imbalance", "step", "coefficient of variation").includeZero();
        int maxExperts = 0;
        boolean anyDrop = false;
        for (int l = 0; l < layers.size(); l++) {
            String layer = layers.get(l);
            List<double[]> rows = new ArrayList<>(); // {step, dropRate, entropy, cv}
            for (Routing g : m.routing()) {
                for (RouterStats s : g.layers()) {
                    if (!s.layer().equals(layer)) continue;
                    rows.add(new double[] {g.step(), s.dropRate(), s.meanEntropy(), s.loadCv()});
                    maxExperts = Math.max(maxExperts, s.experts());
                    anyDrop |= s.totalDropped() > 0;
                }
            }
            String color = Palette.categorical(l);
            drops.add(layerSeries(layer, color, rows, 1, "dropped", true));
            entropy.add(layerSeries(layer, color, rows, 2, "mean entropy", false));
            cv.add(layerSeries(layer, color, rows, 3, "load CV", false));
        }
        if (maxExperts > 1) {
            entropy.reference(Math.log(maxExperts), String.format(Locale.ROOT, "uniform over %d experts: ln %d = %.2f",
                    maxExperts, maxExperts, Math.log(maxExperts)));
        }
        card(sb, "Drop rate", anyDrop ? "assignments dropped for capacity, per logging window"
                : "no assignment was dropped (dropless dispatch, or capacity never reached)", drops.svg(CHART_W, SMALL_H), false);
        card(sb, "Router entropy", "mean entropy of the router's distribution per token; low = confident",
                entropy.svg(CHART_W, SMALL_H), false);
        card(sb, "Load imbalance", "standard deviation of the experts' loads over their mean; 0 = perfectly even",
                cv.svg(CHART_W, SMALL_H), false);
        sb.append("</div>\n");
        routerTable(sb, m, layers);
        sb.append("</section>\n");
    }

    private static LineChart.Series layerSeries(String layer, String color, List<double[]> rows, int column, String what,
            boolean percent) {
        double[] x = new double[rows.size()], y = new double[rows.size()];
        String[] tips = new String[rows.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = rows.get(i)[0];
            y[i] = rows.get(i)[column];
            tips[i] = layer + " at step " + Html.count((long) x[i]) + ": " + what + " "
                    + (percent ? Html.pct(y[i], 2) : Html.num(y[i], 4));
        }
        return new LineChart.Series(layer, color, x, y, LineChart.Style.LINE, tips);
    }

    /** Whole-run totals per layer. */
    private static void routerTable(StringBuilder sb, MetricsHistory m, List<String> layers) {
        Map<String, RouterStats> totals = new LinkedHashMap<>();
        for (Routing g : m.routing()) {
            for (RouterStats s : g.layers()) {
                totals.merge(s.layer(), s, (a, b) -> a.experts() == b.experts() ? a.merge(b) : b);
            }
        }
        sb.append("<figure class=\"card table\"><figcaption>Over the whole run</figcaption>\n<table class=\"data\">\n<thead><tr>")
                .append("<th>layer</th><th>experts</th><th>tokens</th><th>assignments</th><th>dropped</th>")
                .append("<th>mean entropy</th><th>load CV</th><th>busiest / mean</th><th>busiest expert</th><th>idlest expert</th>")
                .append("</tr></thead>\n<tbody>\n");
        for (String layer : layers) {
            RouterStats s = totals.get(layer);
            double[] share = s.share();
            int busiest = 0, idlest = 0;
            for (int e = 1; e < share.length; e++) {
                if (share[e] > share[busiest]) busiest = e;
                if (share[e] < share[idlest]) idlest = e;
            }
            sb.append("<tr><td>").append(esc(layer)).append("</td><td>").append(s.experts()).append("</td><td>")
                    .append(Html.count(s.tokens())).append("</td><td>").append(Html.count(s.totalRouted())).append("</td><td>")
                    .append(Html.pct(s.dropRate(), 2)).append("</td><td>").append(fixed(s.meanEntropy(), 3)).append("</td><td>")
                    .append(fixed(s.loadCv(), 3)).append("</td><td>").append(fixed(s.maxOverMean(), 2)).append("</td><td>")
                    .append(share.length == 0 ? "\u2013" : busiest + " (" + Html.pct(share[busiest], 1) + ")").append("</td><td>")
                    .append(share.length == 0 ? "\u2013" : idlest + " (" + Html.pct(share[idlest], 1) + ")").append("</td></tr>\n");
        }
        sb.append("</tbody>\n</table>\n</figure>\n");
    }

    private static String fixed(double v, int decimals) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%." + decimals + "f", v) : "\u2013";
    }

    // -------------------------------------------------------------------------------------------------- run

    private static void run(StringBuilder sb, ReportInput input) {
        sb.append("<section>\n<h2>Run</h2>\n<div class=\"grid top\">\n");
        keyValues(sb, "Configuration", input.config());
        keyValues(sb, "Provenance", input.provenance());
        sb.append("</div>\n</section>\n");
    }

    private static void keyValues(StringBuilder sb, String title, Map<String, String> map) {
        sb.append("<figure class=\"card\"><figcaption>").append(title).append("</figcaption>\n");
        if (map.isEmpty()) {
            sb.append("<p class=\"muted\">none recorded</p></figure>\n");
            return;
        }
        sb.append("<table class=\"kv\">\n<tbody>\n");
        for (Map.Entry<String, String> e : map.entrySet()) {
            sb.append("<tr><th>").append(esc(e.getKey())).append("</th><td>").append(esc(e.getValue())).append("</td></tr>\n");
        }
        sb.append("</tbody>\n</table>\n</figure>\n");
    }

    private static void card(StringBuilder sb, String title, String subtitle, String svg, boolean wide) {
        sb.append("<figure class=\"card").append(wide ? " wide" : "").append("\"><figcaption>").append(esc(title))
                .append("<span>").append(esc(subtitle)).append("</span></figcaption>\n").append(svg).append("\n</figure>\n");
    }

    // No '&' or '<' here: the page must stay well-formed XML.
    private static final String CSS = """

            :root { color-scheme: light; }
            * { box-sizing: border-box; }
            body { margin: 0; background: #f3f5f8; color: #1f2937;
                   font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
            main { max-width: 1160px; margin: 0 auto; padding: 28px 24px 40px; }
            header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; letter-spacing: -0.01em; }
            .sub { margin: 0 0 18px; color: #4b5563; }
            .status { display: inline-block; padding: 1px 9px; border-radius: 10px; font-weight: 600; font-size: 13px; }
            .status.ok { background: #dcf2e3; color: #1c6b3a; }
            .status.bad { background: #fbe0de; color: #9b2a22; }
            .status.info { background: #e3ebf7; color: #294e86; }
            .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
            .tile { background: #fff; border: 1px solid #e2e6ec; border-radius: 10px; padding: 12px 14px; }
            .tile .label { color: #6b7280; font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
            .tile .value { font-size: 24px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; }
            .tile .note { color: #6b7280; font-size: 12px; min-height: 1em; }
            section { margin-top: 30px; }
            h2 { font-size: 19px; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 1px solid #dde2e8; }
            h3 { font-size: 15px; margin: 20px 0 10px; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
            h3 .muted { font-family: system-ui, sans-serif; font-weight: 400; }
            .muted { color: #6b7280; }
            .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; }
            .card { margin: 0; background: #fff; border: 1px solid #e2e6ec; border-radius: 10px; padding: 12px 14px 10px;
                    overflow-x: auto; }
            .card.wide { grid-column: 1 / -1; }
            .card.table { margin-top: 16px; }
            .grid.top { align-items: start; }
            figcaption { font-weight: 600; margin-bottom: 6px; }
            figcaption span { display: block; font-weight: 400; color: #6b7280; font-size: 12.5px; }
            svg.chart { display: block; max-width: 100%; height: auto; margin: 0 auto; font-size: 12px; }
            svg.chart text { fill: #374151; }
            .plot { fill: #fff; }
            .grid line, line.grid { stroke: #e8ebef; stroke-width: 1; }
            .axis { stroke: #9aa3ae; stroke-width: 1; }
            .xtick { stroke: #9aa3ae; }
            svg.chart text.tick { font-size: 11px; fill: #5b6472; font-variant-numeric: tabular-nums; }
            svg.chart text.axis-label { font-size: 12px; fill: #4b5563; }
            .line { fill: none; stroke-width: 2.2; stroke-linejoin: round; stroke-linecap: round; }
            .line.faint { stroke-width: 1; opacity: 0.3; }
            .line.dashed { stroke-width: 1.4; stroke-dasharray: 4 3; }
            .marker { stroke: #fff; stroke-width: 1.5; }
            .hover { fill: #1f2937; fill-opacity: 0; }
            .hover:hover, .marker:hover { fill-opacity: 0.35; stroke: #1f2937; }
            .ref { stroke: #8a929e; stroke-width: 1.2; stroke-dasharray: 6 4; }
            svg.chart text.ref-label { font-size: 11px; fill: #6b7280; }
            .empty { fill: #fafbfc; stroke: #d9dee5; stroke-dasharray: 4 4; }
            svg.chart text.empty-label { fill: #8a929e; font-size: 13px; }
            .legend text { font-size: 12px; }
            .even { stroke: #fff; stroke-opacity: 0.7; stroke-dasharray: 2 3; }
            .idle { fill: #eef0f3; }
            .cell { stroke: #fff; stroke-width: 1; }
            .cell:hover { stroke: #111827; stroke-width: 2; }
            svg.chart text.val { font-size: 10.5px; fill: #1f2937; pointer-events: none; font-variant-numeric: tabular-nums; }
            svg.chart text.val.on-dark { fill: #fff; }
            svg.chart text.row { font-size: 12px; }
            svg.chart text.col { font-size: 11px; fill: #4b5563; }
            svg.chart text.foot { font-size: 10.5px; fill: #5b6472; }
            svg.chart text.note { font-size: 11px; fill: #6b7280; }
            .frame { fill: none; stroke: #cfd6df; }
            table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
            table.kv th { text-align: left; font-weight: 500; color: #4b5563; width: 38%; }
            table.kv td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px;
                          word-break: break-all; }
            table th, table td { padding: 5px 8px; border-bottom: 1px solid #eef0f3; vertical-align: baseline; }
            table.data th { text-align: right; font-weight: 600; color: #4b5563; font-size: 12.5px; white-space: nowrap; }
            table.data td { text-align: right; white-space: nowrap; }
            table.data th:first-child, table.data td:first-child { text-align: left; }
            footer { margin-top: 32px; color: #8a929e; font-size: 12px; text-align: center; }
            """;
}
