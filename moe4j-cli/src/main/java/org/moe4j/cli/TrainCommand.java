package org.moe4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.Checkpoint;
import org.moe4j.kernel.Parallel;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.train.LmRunConfig;
import org.moe4j.train.LmTraining;
import org.moe4j.train.Models;
import org.moe4j.train.RunConfig;
import org.moe4j.train.RunData;
import org.moe4j.train.TrainConfig;
import org.moe4j.train.TrainResult;
import org.moe4j.train.TrainableModel;
import org.moe4j.train.TrainedLm;
import org.moe4j.train.TrainedRun;
import org.moe4j.train.Trainer;
import org.moe4j.train.progress.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code moe4j train}: trains a classifier or a transformer language model, checkpointing to --out, and optionally
 * writes the HTML report.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train an MoE (or dense) classifier or language model with checkpoints, a metrics log and an"
                + " optional HTML report.")
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", description = "moe-cnn, moe-mlp, dense-cnn, dense-mlp, dense-cnn-total, dense-mlp-total (classifiers; "
            + "dense: the MoE model's active parameters, -total: its total) or moe-lm, dense-lm "
            + "(language models on text:) (default: moe-mlp, or moe-lm for text: data).")
    String model;

    @Option(names = "--data", description = "fashion-mnist[:DIR], csv:FILE[:LABEL_COLUMN], bundled:fashion-mnist-small, "
            + "or for language models text:FILE (UTF-8) or text:bundled:kjv-small.")
    String data;

    @Option(names = "--tokenizer", description = "Language models: byte, or a tokenizer.json file (default byte).")
    String tokenizer;

    @Option(names = "--preset", description = "Language models: tiny or small (default small).")
    String preset;

    @Option(names = "--seq-len", description = "Language models: tokens per training window (default: the preset's"
            + " longest, 128 tiny, 256 small).")
    Integer seqLen;

    @Option(names = "--eval-tokens", description = "Language models: evaluate on at most this many held-out tokens"
            + " (default 16384).")
    Long evalTokens;

    @Option(names = "--eval-every", description = "Language models: evaluate every N steps (default 200; 0: at the end).")
    Integer evalEvery;

    @Option(names = "--out", required = true, description = "Run directory: checkpoints, metrics.jsonl.")
    Path out;

    @Option(names = "--epochs", description = "Epochs (default 5, language models 1).")
    Integer epochs;

    @Option(names = "--max-steps", defaultValue = "0", description = "Stop after this many steps (0: no limit).")
    long maxSteps;

    @Option(names = "--experts", description = "Experts per MoE layer (default 8, or the preset's).")
    Integer experts;

    @Option(names = "--top-k", description = "Experts per example or token (default 2, or the preset's).")
    Integer topK;

    @Option(names = "--router", description = "Router name, see 'moe4j info' (default topk).")
    String router;

    @Option(names = "--width", description = "Classifiers: head width (default 128).")
    Integer width;

    @Option(names = "--hidden", description = "Classifiers: expert hidden width (default 256).")
    Integer hidden;

    @Option(names = "--trunk", split = ",", description = "CNN trunk channels per stage (default 32,64).")
    java.util.List<Integer> trunk;

    @Option(names = "--augment-padding", description = "Images: random crops with this zero padding (default 0: none).")
    Integer augmentPadding;

    @Option(names = "--flip", description = "Images: random horizontal flips.")
    boolean flip;

    @Option(names = "--batch", description = "Batch size (default 64, language models 16 sequences).")
    Integer batch;

    @Option(names = "--lr", defaultValue = "0.002", description = "Peak learning rate (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--optimizer", defaultValue = "adamw", description = "adamw or sgd (momentum 0.9).")
    String optimizer;

    @Option(names = "--warmup", description = "Warmup steps (default 50; language models at most a tenth of --max-steps).")
    Integer warmup;

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
        if (resume) {
            if (!Files.isDirectory(out)) throw new Moe4jException("--resume: " + out + " is not a run directory");
            Checkpoint ck = Checkpoint.open(out);
            if (ck.configClass().equals(LmRunConfig.class.getName())) {
                LmRunConfig lm = ck.config(LmRunConfig.class);
                return LmTrain.train(lm, TrainedLm.tokenizer(ck, lm), out, true, report, outWriter, ProgressBar.Mode.detect());
            }
            return train(ck.config(RunConfig.class), out, true, report, outWriter, ProgressBar.Mode.detect());
        }
        if (data == null) throw new ParameterException(spec.commandLine(), "--data is required (or --resume)");
        String m = model != null ? model.toLowerCase(Locale.ROOT) : data.strip().startsWith("text:") ? LmRunConfig.MOE : "moe-mlp";
        if (m.endsWith("-lm")) {
            if (augmentPadding != null || flip) {
                throw new ParameterException(spec.commandLine(), "--augment-padding and --flip are for image classifiers");
            }
            if (width != null || hidden != null || trunk != null) {
                throw new ParameterException(spec.commandLine(), "--width, --hidden and --trunk are for classifiers; a "
                        + "language model's sizes come from --preset (and --experts, --top-k)");
            }
            return trainLm(m, outWriter);
        }
        for (Object[] lmOnly : new Object[][] {{"--tokenizer", tokenizer}, {"--preset", preset}, {"--seq-len", seqLen},
                {"--eval-tokens", evalTokens}, {"--eval-every", evalEvery}}) {
            if (lmOnly[1] != null) {
                throw new ParameterException(spec.commandLine(), lmOnly[0] + " is for language models (--model moe-lm or dense-lm)");
            }
        }
        RunConfig config;
        try {
            TrainConfig tc = new TrainConfig(epochs != null ? epochs : 5, maxSteps, batch != null ? batch : 64, optimizer, lr,
                    lr / 100, warmup != null ? warmup : 50, 0.01, 0.9, 1.0, seed, checkpointEvery, 3, 10, 50,
                    augmentPadding != null ? augmentPadding : 0, flip, 10);
            config = new RunConfig(m, data, experts != null ? experts : 8, topK != null ? topK : 2,
                    router != null ? router : "topk", width != null ? width : 128, hidden != null ? hidden : 256, trunk, tc,
                    null, null, 0.1);
        } catch (Moe4jException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        return train(config, out, false, report, outWriter, ProgressBar.Mode.detect());
    }

    private int trainLm(String m, PrintWriter w) {
        if (!data.strip().startsWith("text:")) {
            throw new ParameterException(spec.commandLine(), "--model " + m + " trains on text: use --data text:FILE or "
                    + "text:bundled:kjv-small");
        }
        if (trunk != null) throw new ParameterException(spec.commandLine(), "--trunk is for CNN classifiers");
        if (!optimizer.equalsIgnoreCase("adamw")) {
            throw new ParameterException(spec.commandLine(), "language models train with adamw; --optimizer " + optimizer
                    + " is for classifiers");
        }
        Tokenizer tok = LmTraining.tokenizer(tokenizer); // a missing file is a Moe4jException with the fix
        LmRunConfig config;
        try {
            String p = preset != null ? preset : "small";
            int seq = seqLen != null ? seqLen : LmRunConfig.preset(p).maxSeqLen();
            TrainConfig tc = LmTraining.trainConfig(epochs != null ? epochs : 1, maxSteps, batch != null ? batch : 16, lr,
                    warmup != null ? warmup : -1, seed, checkpointEvery);
            String tokFile = tokenizer == null || tokenizer.strip().equalsIgnoreCase("byte") ? null
                    : Path.of(tokenizer.strip()).toAbsolutePath().toString();
            config = LmTraining.config(m, data.strip(), tok, tokFile, p, experts, topK, router, seq, tc,
                    evalTokens != null ? evalTokens : LmTraining.DEFAULT_EVAL_TOKENS,
                    evalEvery != null ? evalEvery : LmTraining.DEFAULT_EVAL_EVERY);
        } catch (Moe4jException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        return LmTrain.train(config, tok, out, false, report, w, ProgressBar.Mode.detect());
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
                .totalSteps(trainer.totalSteps()).unit(data.train().isImages() ? "images" : "examples").columns(ProgressBar.terminalColumns()).build());
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
