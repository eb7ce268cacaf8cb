package org.moe4j.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.Checkpoint;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.io.tokenizer.TokenizerJson;
import org.moe4j.model.TransformerConfig;
import org.moe4j.train.data.TextData;
import org.moe4j.train.progress.MetricsHistory;
import org.moe4j.train.progress.MetricsLog;
import org.moe4j.train.report.HtmlReport;
import org.moe4j.train.report.ReportInput;

/** A language-model run opened from a checkpoint: its config, its text and its model with the saved weights. */
public record TrainedLm(Checkpoint checkpoint, LmRunConfig config, LmTask task) {
    /** Whether the checkpoint at {@code path} (or a run directory's latest) is a language-model run. */
    public static boolean isLm(Path path) {
        return Checkpoint.open(path).configClass().equals(LmRunConfig.class.getName());
    }

    /** Opens a checkpoint directory, or the latest checkpoint of a run directory. */
    public static TrainedLm open(Path path) {
        Checkpoint ck = Checkpoint.open(path);
        LmRunConfig config = ck.config(LmRunConfig.class);
        TextData data = TextData.load(config.data(), tokenizer(ck, config));
        LmTask task = LmTraining.task(config, data);
        ck.loadModel(task.model());
        return new TrainedLm(ck, config, task);
    }

    /** The checkpoint's tokenizer: the byte tokenizer, or its tokenizer.json. */
    public static Tokenizer tokenizer(Checkpoint ck, LmRunConfig config) {
        if (config.tokenizer().equals(LmRunConfig.BYTE)) return new ByteTokenizer();
        Path file = ck.dir().resolve(LmTask.TOKENIZER_FILE);
        if (!Files.isRegularFile(file)) {
            throw new Moe4jException("checkpoint " + ck.dir() + " says tokenizer \"bpe\" but holds no " + LmTask.TOKENIZER_FILE);
        }
        return TokenizerJson.read(file);
    }

    /** The run directory: the checkpoint's parent, which holds the metrics log. */
    public Path runDir() {
        Path parent = checkpoint.dir().toAbsolutePath().getParent();
        return parent == null ? checkpoint.dir() : parent;
    }

    /** Evaluates on the held-out text; {@code expertTokens} also tallies which tokens each expert gets. */
    public LmEvaluator.Result evaluate(boolean expertTokens) {
        return task.evaluate(expertTokens);
    }

    /** Writes the HTML report: bits-per-byte curves, expert load per layer, and each expert's preferred tokens. */
    public void writeReport(Path file, LmEvaluator.Result result) {
        Path log = runDir().resolve(Trainer.METRICS);
        MetricsHistory history = Files.exists(log) ? MetricsLog.read(log) : MetricsHistory.of(List.of());
        ReportInput input = new ReportInput(config.model() + " on " + config.data(), configMap(),
                TrainedRun.provenanceMap(checkpoint.provenance()), List.of(), List.of())
                .withUnit("tokens").withExpertTokens(result.expertTokens());
        HtmlReport.write(file, history, input);
    }

    private Map<String, String> configMap() {
        LmRunConfig c = config;
        TransformerConfig t = c.transformer();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", c.model() + " (preset " + c.preset() + ")");
        m.put("data", c.data());
        m.put("tokenizer", c.tokenizer() + (c.tokenizerFile() != null ? " (" + c.tokenizerFile() + ")" : "") + ", vocabulary "
                + t.vocab());
        m.put("layers", t.layers() + " x d_model " + t.dModel() + ", " + t.heads() + " heads of " + t.headDim()
                + (t.kvHeads() != t.heads() ? " (" + t.kvHeads() + " kv heads)" : ""));
        if (t.experts() > 0) {
            m.put("experts", t.experts() + " SwiGLU experts of hidden " + t.expertHidden() + ", top-" + t.topK() + ", router "
                    + t.router());
        } else {
            m.put("ffn", "dense SwiGLU of hidden " + t.denseHidden());
        }
        m.put("parameters", String.format(java.util.Locale.ROOT, "%,d (active per token %,d)", task.model().parameterCount(),
                task.model().activeParameterCount()));
        m.put("sequence", c.seqLen() + " tokens");
        TrainConfig tc = c.train();
        if (tc.maxSteps() > 0) m.put("max steps", Long.toString(tc.maxSteps()));
        m.put("batch", tc.batchSize() + " sequences");
        m.put("learning rate", tc.learningRate() + " (warmup " + tc.warmupSteps() + " steps, cosine to " + tc.minLearningRate() + ")");
        m.put("weight decay", Double.toString(tc.weightDecay()));
        m.put("gradient clip", tc.clipNorm() > 0 ? Double.toString(tc.clipNorm()) : "off");
        m.put("evaluation", "at most " + c.evalTokens() + " held-out tokens" + (c.evalEvery() > 0 ? ", every " + c.evalEvery()
                + " steps" : ""));
        m.put("seed", Long.toString(tc.seed()));
        return m;
    }
}
