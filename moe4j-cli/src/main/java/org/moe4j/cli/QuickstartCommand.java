package org.moe4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.moe4j.infer.GenerationOptions;
import org.moe4j.infer.Generator;
import org.moe4j.infer.SamplingParams;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.kernel.Parallel;
import org.moe4j.train.LmRunConfig;
import org.moe4j.train.LmTraining;
import org.moe4j.train.RunConfig;
import org.moe4j.train.TrainConfig;
import org.moe4j.train.TrainedLm;
import org.moe4j.train.data.TextData;
import org.moe4j.train.progress.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The first run: trains a small MoE language model on the slice of the King James Bible bundled with moe4j, then a
 * dense model with the same active parameters for the same time, compares their held-out bits per byte, prints a
 * sample and writes the MoE run's HTML report. {@code --images} runs the earlier first run instead: a small MoE-CNN
 * on the bundled Fashion-MNIST subset.
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Train a small MoE language model and a dense one with the same active parameters on the bundled "
                + "King James text for the same time (about three minutes on 2 cores), compare their bits per byte, "
                + "print a sample and write the HTML report. --images: a small MoE-CNN on bundled Fashion-MNIST instead.")
final class QuickstartCommand implements Callable<Integer> {
    /** The MoE LM: the tiny preset (d 64, 2 layers) with 8 experts top-2, on sequences of 128 bytes. */
    static final int EXPERTS = 8;
    static final int SEQ_LEN = 128;
    static final int BATCH = 16;
    static final String PROMPT = "And God said, ";
    /** Enough passes over the bundled text that the time, not the data, ends each run. */
    static final int EPOCHS = 1000;
    static final double STEPS_PER_SECOND = 25;

    @Spec
    CommandSpec spec;

    @Option(names = "--out", defaultValue = "moe4j-quickstart", description = "Run directory (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seconds", defaultValue = "80",
            description = "Training time of each language model (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--images", description = "Train the MoE-CNN on the bundled Fashion-MNIST subset instead.")
    boolean images;

    @Option(names = "--epochs", defaultValue = "12", description = "--images: epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--max-steps", defaultValue = "0", description = "Stop each run after this many steps (0: no limit).")
    long maxSteps;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", description = "Kernel threads (default: all cores).")
    Integer threads;

    @Override
    public Integer call() {
        if (epochs < 1) throw new ParameterException(spec.commandLine(), "--epochs must be at least 1, got " + epochs);
        if (maxSteps < 0) throw new ParameterException(spec.commandLine(), "--max-steps must be >= 0, got " + maxSteps);
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw new ParameterException(spec.commandLine(), "--seconds must be positive, got " + seconds);
        }
        if (threads != null) {
            if (threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
            Parallel.setThreads(threads);
        }
        PrintWriter w = spec.commandLine().getOut();
        int code = images ? images(w) : languageModels(w);
        w.flush();
        return code;
    }

    private int languageModels(PrintWriter w) {
        ByteTokenizer tokenizer = new ByteTokenizer();
        String data = "text:bundled:" + TextData.BUNDLED_KJV;
        TextData text = TextData.load(data, tokenizer);
        // The schedule spans about the steps 2 quiet cores reach in the time (the tiny model takes some 25 a second);
        // the time limit ends the run, on a slower machine before its learning rate has fully decayed.
        long steps = maxSteps > 0 ? maxSteps : Math.max(50, (long) (seconds * STEPS_PER_SECOND));
        TrainConfig tc = LmTraining.trainConfig(EPOCHS, steps, BATCH, 0.003, -1, seed, 0);
        LmRunConfig moe = LmTraining.config(LmRunConfig.MOE, data, tokenizer, null, "tiny", EXPERTS, 2, "topk", SEQ_LEN, tc,
                LmTraining.DEFAULT_EVAL_TOKENS, LmTraining.DEFAULT_EVAL_EVERY);
        LmRunConfig dense = LmTraining.config(LmRunConfig.DENSE, data, tokenizer, null, "tiny", EXPERTS, 2, "topk", SEQ_LEN,
                tc, LmTraining.DEFAULT_EVAL_TOKENS, LmTraining.DEFAULT_EVAL_EVERY);
        w.printf(Locale.ROOT, "quickstart: two small byte-level language models on the bundled King James text (%,d training"
                + " and %,d held-out bytes), %.0f s each on %d threads%n", text.train().length, text.heldOut().length, seconds,
                Parallel.threads());

        Path moeDir = out.resolve("moe-lm"), denseDir = out.resolve("dense-lm");
        LmTraining.Timed m = train(w, "1/2 mixture of experts (" + EXPERTS + " experts, top-2)", moe, text, moeDir);
        LmTraining.Timed d = train(w, "2/2 dense, same active parameters", dense, text, denseDir);
        w.printf(Locale.ROOT, "held-out bits per byte: MoE %.3f (%d steps in %.0f s, %,d parameters, %,d active), "
                        + "dense %.3f (%d steps in %.0f s, %,d parameters)%n", m.bitsPerByte(), m.steps(), m.seconds(),
                m.model().parameterCount(), m.model().activeParameterCount(), d.bitsPerByte(), d.steps(), d.seconds(),
                d.model().parameterCount());

        GenerationOptions sampling = GenerationOptions.of(160, new SamplingParams(0.8, 0, 1.0, 0.05, seed));
        String sample = new Generator(m.model(), tokenizer).generate(PROMPT, sampling, null).text();
        w.println("sample from the MoE model (temperature 0.8): " + PROMPT + sample.replace('\n', ' ').strip());

        Path report = out.resolve("report.html");
        TrainedLm run = TrainedLm.open(moeDir);
        run.writeReport(report, run.evaluate(true));
        w.println("report: " + report);
        w.printf(Locale.ROOT, "next: open %s in a browser, or run ./moe4j generate --model %s --prompt \"%s\"%n", report, moeDir,
                PROMPT.strip());
        return 0;
    }

    private LmTraining.Timed train(PrintWriter w, String title, LmRunConfig config, TextData text, Path dir) {
        w.println(title);
        ProgressBar bar = ProgressBar.builder(w).mode(ProgressBar.Mode.detect()).epochs(EPOCHS)
                .totalSteps(config.train().maxSteps()).unit("tokens").metric("bpb", false)
                .columns(ProgressBar.terminalColumns()).build();
        return LmTraining.trainFor(config, text, seconds, dir, bar);
    }

    /** The MoE-CNN first run: conv 32-64 trunk, a 128-wide head of 8 experts (hidden 128), top-2. */
    private int images(PrintWriter w) {
        TrainConfig tc = new TrainConfig(epochs, maxSteps, 64, "adamw", 0.003, 0.00003, 50, 0.01, 0.9, 1.0, seed, 0, 2,
                10, 50, 0, false, 10);
        RunConfig config = new RunConfig("moe-cnn", "bundled:fashion-mnist-small", 8, 2, "topk", 128, 128, List.of(32, 64),
                tc, null, null, 0.1);
        w.println("quickstart: training a small mixture of experts (8 experts, top-2) on the bundled Fashion-MNIST subset");
        Path report = out.resolve("report.html");
        int code = TrainCommand.train(config, out, false, report, w, ProgressBar.Mode.detect());
        w.printf(Locale.ROOT, "next: open %s in a browser, or run ./moe4j inspect --checkpoint %s%n", report, out);
        return code;
    }
}
