package org.moe4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.moe4j.train.Evaluator;
import org.moe4j.train.LmEvaluator;
import org.moe4j.train.TrainedLm;
import org.moe4j.train.TrainedRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code moe4j eval}: accuracy and loss of a classifier checkpoint on its run's test (or validation) split; bits per
 * byte, perplexity and loss of a language model on its held-out text.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a checkpoint: accuracy and loss on the test split, or for a language model held-out bits"
                + " per byte and perplexity.")
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", required = true, description = "A checkpoint directory, or a run directory (its latest).")
    Path checkpoint;

    @Option(names = "--json", description = "One JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() {
        if (TrainedLm.isLm(checkpoint)) return evalLm();
        TrainedRun run = TrainedRun.open(checkpoint);
        Evaluator.Result r = run.evaluate();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = Json.object();
            o.put("checkpoint", run.checkpoint().dir().toString());
            o.put("step", run.checkpoint().state().step());
            o.put("model", run.config().model());
            o.put("split", run.data().evalSplit());
            o.put("examples", r.examples());
            o.put("accuracy", r.accuracy());
            o.put("loss", r.loss());
            out.println(Json.line(o));
        } else {
            out.printf(Locale.ROOT, "%s accuracy %.2f%%, loss %.4f on %,d examples (%s, step %d)%n", run.data().evalSplit(),
                    100 * r.accuracy(), r.loss(), r.examples(), run.checkpoint().dir(), run.checkpoint().state().step());
        }
        out.flush();
        return 0;
    }

    private int evalLm() {
        TrainedLm run = TrainedLm.open(checkpoint);
        LmEvaluator.Result r = run.evaluate(false);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = Json.object();
            o.put("checkpoint", run.checkpoint().dir().toString());
            o.put("step", run.checkpoint().state().step());
            o.put("model", run.config().model());
            o.put("split", "held-out");
            o.put("tokens", r.tokens());
            o.put("bytes", r.bytes());
            o.put("bitsPerByte", r.bitsPerByte());
            o.put("perplexity", r.perplexity());
            o.put("loss", r.loss());
            out.println(Json.line(o));
        } else {
            out.printf(Locale.ROOT, "held-out bits per byte %.4f, perplexity %.3f, loss %.4f on %,d tokens (%,d bytes) (%s, step %d)%n",
                    r.bitsPerByte(), r.perplexity(), r.loss(), r.tokens(), r.bytes(), run.checkpoint().dir(),
                    run.checkpoint().state().step());
        }
        out.flush();
        return 0;
    }
}
