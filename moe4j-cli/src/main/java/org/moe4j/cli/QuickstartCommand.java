package org.moe4j.cli;

import java.util.concurrent.Callable;
import org.moe4j.kernel.Parallel;
import org.moe4j.train.MlpQuickstart;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The first run: trains a small MLP on a synthetic task and prints the loss falling. */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Train a small MLP on three interleaved spirals with SGD and watch the loss fall.")
final class QuickstartCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--steps", defaultValue = "1500", description = "SGD steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", description = "Kernel threads (default: all cores).")
    Integer threads;

    @Override
    public Integer call() {
        if (steps < 1) throw new ParameterException(spec.commandLine(), "--steps must be at least 1, got " + steps);
        if (threads != null) {
            if (threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
            Parallel.setThreads(threads);
        }
        var out = spec.commandLine().getOut();
        MlpQuickstart.Result r = MlpQuickstart.run(seed, steps, line -> {
            out.println(line);
            out.flush();
        });
        return r.finalLoss() < r.firstLoss() ? 0 : 1;
    }
}
