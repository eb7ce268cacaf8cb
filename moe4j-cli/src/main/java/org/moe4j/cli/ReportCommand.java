package org.moe4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.moe4j.train.TrainedLm;
import org.moe4j.train.TrainedRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code moe4j report}: the self-contained HTML page of a run. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Write a run's HTML report: curves, expert load, the class x expert heatmap (classifiers) or each"
                + " expert's preferred tokens (language models), config and provenance.")
final class ReportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", required = true, description = "A checkpoint directory, or a run directory (its latest).")
    Path checkpoint;

    @Option(names = "--out", description = "The HTML file (default: report.html in the run directory).")
    Path out;

    @Override
    public Integer call() {
        if (TrainedLm.isLm(checkpoint)) {
            TrainedLm lm = TrainedLm.open(checkpoint);
            Path file = out != null ? out : lm.runDir().resolve("report.html");
            lm.writeReport(file, lm.evaluate(true));
            spec.commandLine().getOut().println("report: " + file);
            spec.commandLine().getOut().flush();
            return 0;
        }
        TrainedRun run = TrainedRun.open(checkpoint);
        Path file = out != null ? out : run.runDir().resolve("report.html");
        run.writeReport(file, run.evaluate());
        spec.commandLine().getOut().println("report: " + file);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
