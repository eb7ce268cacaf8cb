package org.moe4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.Checkpoint;
import org.moe4j.kernel.Parallel;
import org.moe4j.train.Models;
import org.moe4j.train.RunConfig;
import org.moe4j.train.RunData;
import org.moe4j.train.TrainConfig;
import org.moe4j.train.TrainResult;
import org.moe4j.train.TrainableModel;
import org.moe4j.train.TrainedRun;
import org.moe4j.train.Trainer;
import org.moe4j.train.progress.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code moe4j train}: trains a classifier, checkpointing to --out, and optionally writes the HTML report. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train an MoE (or dense) classifier with checkpoints, a metrics log and an optional HTML report.")
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", description = "moe-cnn, moe-mlp, dense-cnn or dense-mlp (default: ${DEFAULT-VALUE}).",
            defaultValue = "moe-mlp")
    String model;

    @Option(names = "--data", description = "fashion-mnist[:DIR], csv:FILE[:LABEL_COLUMN] or bundled:fashion-mnist-small.")
    String data;

    @Option(names = "--out", required = true, description = "Run directory: checkpoints, metrics.jsonl.")
    Path out;

    @Option(names = "--epochs", defaultValue = "5", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--max-steps", defaultValue = "0", description = "Stop after this many steps (0: no limit).")
    long maxSteps;

    @Option(names = "--experts", defaultValue = "8", description = "Experts per MoE layer (default ${DEFAULT-VALUE}).")
    int experts;

    @Option(names = "--top-k", defaultValue = "2", description = "Experts per example (default ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--router", defaultValue = "topk", description = "Router name, see 'moe4j info' (default ${DEFAULT-VALUE}).")
    String router;

    @Option(names = "--width", defaultValue = "128", description = "Head width (default ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--hidden", defaultValue = "256", description = "Expert hidden width (default ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--trunk", split = ",", description = "CNN trunk channels per stage (default 32,64).")
    java.util.List<Integer> trunk;

    @Option(names = "--batch", defaultValue = "64", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", defaultValue = "0.002", description = "Peak learning rate (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--optimizer", defaultValue = "adamw", description = "adamw or sgd (momentum 0.9).")
    String optimizer;

    @Option(names = "--warmup", defaultValue = "50", description = "Warmup steps (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--checkpoint-every", defaultValue = "0", description = "Also checkpoint every N steps (0: epoch ends only).")
    int checkpointEvery;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", description = "Kernel threads (default: all cores).")
    Integer threads;

    @Option(names = "--resume", description = "Continue the run in --out from its latest checkpoint (its saved settings are used).")
    boolean resume;

    @Option(names = "--report", description = "Write the HTML report here at the end.")
    Path report;

    @Override
    public Integer call() {
        if (threads != null) {
            if (threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
            Parallel.setThreads(threads);
        }
        PrintWriter outWriter = spec.commandLine().getOut();
        RunConfig config;
        if (resume) {
            if (!Files.isDirectory(out)) throw new Moe4jException("--resume: " + out + " is not a run directory");
            config = Checkpoint.open(out).config(RunConfig.class);
        } else {
            if (data == null) throw new ParameterException(spec.commandLine(), "--data is required (or --resume)");
            TrainConfig tc;
            try {
                tc = new TrainConfig(epochs, maxSteps, batch, optimizer, lr, lr / 100, warmup, 0.01, 0.9, 1.0, seed,
                        checkpointEvery, 3, 10, 50, 0, false, 10);
            } catch (Moe4jException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
            try {
                config = new RunConfig(model.toLowerCase(Locale.ROOT), data, experts, topK, router, width, hidden, trunk, tc,
                        null, null, 0.1);
            } catch (Moe4jException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        return train(config, out, resume, report, outWriter, ProgressBar.Mode.detect());
    }

    /** Trains (or resumes) one run and prints where it ended; shared with quickstart. */
    static int train(RunConfig config, Path out, boolean resume, Path report, PrintWriter w, ProgressBar.Mode mode) {
        RunData data = RunData.load(config);
        TrainableModel model = Models.build(data.config(), data.train());
        w.printf(Locale.ROOT, "%s on %s: %,d train and %,d %s examples, %,d parameters, %d threads%n", config.model(),
                config.data(), data.train().size(), data.eval().size(), data.evalSplit(),
                model.module().parameterCount(), Parallel.threads());
        Trainer trainer = new Trainer(model, data.config().train(), data.train(), data.eval(), data.evalSplit())
                .output(out, data.config());
        trainer.progress(ProgressBar.builder(w).mode(mode).epochs(config.train().epochs())
                .totalSteps(trainer.totalSteps()).unit("images").columns(ProgressBar.terminalColumns()).build());
        TrainResult r = resume ? trainer.resume() : trainer.run();
        w.printf(Locale.ROOT, "%s after %d steps in %s: %s accuracy %.2f%%, loss %.4f%n", r.status(), r.steps(),
                seconds(r.seconds()), data.evalSplit(), 100 * r.evalAccuracy(), r.evalLoss());
        w.println("checkpoints and metrics.jsonl in " + out);
        if (report != null) {
            TrainedRun run = TrainedRun.open(out);
            run.writeReport(report, run.evaluate());
            w.println("report: " + report);
        }
        w.flush();
        return 0;
    }

    static String seconds(double s) {
        long t = Math.round(s);
        return t >= 60 ? String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60) : String.format(Locale.ROOT, "%.1fs", s);
    }
}
