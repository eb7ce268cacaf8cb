package org.moe4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.kernel.Parallel;
import org.moe4j.train.LmRunConfig;
import org.moe4j.train.LmTask;
import org.moe4j.train.LmTraining;
import org.moe4j.train.TrainResult;
import org.moe4j.train.TrainedLm;
import org.moe4j.train.Trainer;
import org.moe4j.train.data.TextData;
import org.moe4j.train.progress.ProgressBar;

/** The language-model side of {@code moe4j train}: one run of an LM on text, then where it ended. */
final class LmTrain {
    private LmTrain() {}

    /** Trains (or resumes) the run of {@code config} in {@code out}; writes the report when {@code report} is set. */
    static int train(LmRunConfig config, Tokenizer tokenizer, Path out, boolean resume, Path report, PrintWriter w,
            ProgressBar.Mode mode) {
        TextData data = TextData.load(config.data(), tokenizer);
        LmTask task = LmTraining.task(config, data);
        w.printf(Locale.ROOT, "%s on %s: %,d training and %,d held-out tokens (%s tokenizer, vocabulary %,d), %,d parameters"
                        + " (%,d active per token), %d threads%n", config.model(), config.data(), data.train().length,
                data.heldOut().length, config.tokenizer(), tokenizer.vocabSize(), task.model().parameterCount(),
                task.model().activeParameterCount(), Parallel.threads());
        Trainer trainer = new Trainer(task, config.train()).output(out, config);
        trainer.progress(ProgressBar.builder(w).mode(mode).epochs(config.train().epochs()).totalSteps(trainer.totalSteps())
                .unit("tokens").metric("bpb", false).columns(ProgressBar.terminalColumns()).build());
        TrainResult r = resume ? trainer.resume() : trainer.run();
        w.printf(Locale.ROOT, "%s after %d steps in %s: held-out bits per byte %.4f, loss %.4f%n", r.status(), r.steps(),
                TrainCommand.seconds(r.seconds()), r.evalBitsPerByte(), r.evalLoss());
        w.println("checkpoints and metrics.jsonl in " + out);
        if (report != null) {
            TrainedLm run = TrainedLm.open(out);
            run.writeReport(report, run.evaluate(true));
            w.println("report: " + report);
        }
        w.flush();
        return 0;
    }
}
