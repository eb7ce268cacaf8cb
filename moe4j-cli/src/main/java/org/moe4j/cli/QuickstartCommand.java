package org.moe4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.moe4j.kernel.Parallel;
import org.moe4j.train.RunConfig;
import org.moe4j.train.TrainConfig;
import org.moe4j.train.progress.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The first run: trains a small MoE on the Fashion-MNIST subset bundled with moe4j (about two minutes on two
 * cores), prints the test accuracy it reached and writes the HTML report.
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Train a small MoE on the bundled Fashion-MNIST subset (about two minutes on 2 cores), print its "
                + "test accuracy and write the HTML report.")
final class QuickstartCommand implements Callable<Integer> {
    /**
     * A small MoE-CNN: conv 32-64 trunk, a 128-wide head of 8 experts (hidden 128), top-2. Its 12 epochs take about
     * two minutes on 2 quiet cores (estimated from the CPU time of shorter runs on a busy machine).
     */
    static final String MODEL = "moe-cnn";

    @Spec
    CommandSpec spec;

    @Option(names = "--out", defaultValue = "moe4j-quickstart", description = "Run directory (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--epochs", defaultValue = "12", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--max-steps", defaultValue = "0", description = "Stop after this many steps (0: no limit).")
    long maxSteps;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", description = "Kernel threads (default: all cores).")
    Integer threads;

    @Override
    public Integer call() {
        if (epochs < 1) throw new ParameterException(spec.commandLine(), "--epochs must be at least 1, got " + epochs);
        if (maxSteps < 0) throw new ParameterException(spec.commandLine(), "--max-steps must be >= 0, got " + maxSteps);
        if (threads != null) {
            if (threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
            Parallel.setThreads(threads);
        }
        PrintWriter w = spec.commandLine().getOut();
        TrainConfig tc = new TrainConfig(epochs, maxSteps, 64, "adamw", 0.003, 0.00003, 50, 0.01, 0.9, 1.0, seed, 0, 2,
                10, 50, 0, false, 10);
        RunConfig config = new RunConfig(MODEL, "bundled:fashion-mnist-small", 8, 2, "topk", 128, 128, List.of(32, 64), tc,
                null, null, 0.1);
        w.println("quickstart: training a small mixture of experts (8 experts, top-2) on the bundled Fashion-MNIST subset");
        Path report = out.resolve("report.html");
        int code = TrainCommand.train(config, out, false, report, w, ProgressBar.Mode.detect());
        w.printf(Locale.ROOT, "next: open %s in a browser, or run ./moe4j inspect --checkpoint %s%n", report, out);
        w.flush();
        return code;
    }
}
