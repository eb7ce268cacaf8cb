package org.moe4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.moe4j.moe.RouterStats;
import org.moe4j.train.Evaluator;
import org.moe4j.train.LmEvaluator;
import org.moe4j.train.TrainedLm;
import org.moe4j.train.TrainedRun;
import org.moe4j.train.report.ExpertTokens;
import org.moe4j.train.report.ClassExpertCounts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code moe4j inspect}: router telemetry per layer and expert, and which experts each class uses, on the test split. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a checkpoint's routing on the test split: load per layer and expert, and the class x expert matrix.")
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", required = true, description = "A checkpoint directory, or a run directory (its latest).")
    Path checkpoint;

    @Override
    public Integer call() {
        if (TrainedLm.isLm(checkpoint)) return inspectLm();
        TrainedRun run = TrainedRun.open(checkpoint);
        Evaluator.Result r = run.evaluate();
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "%s, step %d: %s accuracy %.2f%%, loss %.4f on %,d examples%n", run.checkpoint().dir(),
                run.checkpoint().state().step(), run.data().evalSplit(), 100 * r.accuracy(), r.loss(), r.examples());
        if (r.layers().isEmpty()) out.println("no MoE layers: " + run.config().model() + " is dense");
        for (RouterStats s : r.layers()) {
            out.printf(Locale.ROOT, "%nlayer %s (router %s): %,d examples, load CV %.3f, max/mean %.2f, mean entropy %s, dropped %.2f%%%n",
                    s.layer(), run.config().router(), s.tokens(), s.loadCv(), s.maxOverMean(),
                    Double.isNaN(s.meanEntropy()) ? "-" : String.format(Locale.ROOT, "%.3f nats", s.meanEntropy()),
                    100 * s.dropRate());
            out.printf("%-8s %10s %8s %8s%s%n", "expert", "routed", "share", "dropped", s.bias() == null ? "" : "     bias");
            double[] share = s.share();
            for (int e = 0; e < s.experts(); e++) {
                out.printf(Locale.ROOT, "%-8d %,10d %7.2f%% %,8d%s%n", e, s.routed()[e], 100 * share[e], s.dropped()[e],
                        s.bias() == null ? "" : String.format(Locale.ROOT, " %+8.4f", s.bias()[e]));
            }
        }
        for (ClassExpertCounts m : r.classExpert()) matrix(out, m, run.config().classNames());
        out.flush();
        return 0;
    }

    /** A language model: held-out figures, then each MoE layer's load and each expert's preferred tokens. */
    private int inspectLm() {
        TrainedLm run = TrainedLm.open(checkpoint);
        LmEvaluator.Result r = run.evaluate(true);
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "%s, step %d: held-out bits per byte %.4f, perplexity %.3f on %,d tokens%n",
                run.checkpoint().dir(), run.checkpoint().state().step(), r.bitsPerByte(), r.perplexity(), r.tokens());
        if (r.layers().isEmpty()) out.println("no MoE layers: " + run.config().model() + " is dense");
        for (RouterStats s : r.layers()) {
            out.printf(Locale.ROOT, "%nlayer %s (router %s): %,d tokens, load CV %.3f, max/mean %.2f%n", s.layer(),
                    run.config().transformer().router(), s.tokens(), s.loadCv(), s.maxOverMean());
            ExpertTokens prefs = r.expertTokens().stream().filter(t -> t.layer().equals(s.layer())).findFirst().orElse(null);
            double[] share = s.share();
            for (int e = 0; e < s.experts(); e++) {
                StringBuilder top = new StringBuilder();
                if (prefs != null) {
                    for (ExpertTokens.TokenShare t : prefs.experts().get(e).top()) {
                        top.append(String.format(Locale.ROOT, " %s %.0f%%", t.token(), 100 * t.share()));
                    }
                }
                out.printf(Locale.ROOT, "expert %-3d %6.2f%%  top:%s%n", e, 100 * share[e], top);
            }
        }
        out.flush();
        return 0;
    }

    /** Rows: classes; columns: experts; cells: the share of the class's assignments that went to the expert. */
    private static void matrix(PrintWriter out, ClassExpertCounts m, List<String> names) {
        out.printf("%nclass x expert, layer %s (%% of each class's assignments)%n", m.layer());
        int nameWidth = 5;
        for (String n : names) nameWidth = Math.max(nameWidth, n.length());
        StringBuilder head = new StringBuilder(String.format("%-" + nameWidth + "s", "class"));
        for (int e = 0; e < m.experts(); e++) head.append(String.format("%7s", "e" + e));
        out.println(head);
        for (int c = 0; c < m.classes(); c++) {
            String name = c < names.size() ? names.get(c) : "class " + c;
            StringBuilder row = new StringBuilder(String.format("%-" + nameWidth + "s", name));
            long total = m.rowTotal(c);
            for (int e = 0; e < m.experts(); e++) {
                row.append(String.format(Locale.ROOT, "%7.1f", total == 0 ? 0.0 : 100.0 * m.count(c, e) / total));
            }
            out.println(row);
        }
    }
}
