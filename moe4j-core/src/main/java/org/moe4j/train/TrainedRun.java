package org.moe4j.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.io.Checkpoint;
import org.moe4j.io.Provenance;
import org.moe4j.train.progress.MetricsHistory;
import org.moe4j.train.progress.MetricsLog;
import org.moe4j.train.report.HtmlReport;
import org.moe4j.train.report.ReportInput;

/**
 * A trained run opened from a checkpoint: its config, its data and its model with the saved weights, ready for
 * evaluation, inspection and the report.
 */
public record TrainedRun(Checkpoint checkpoint, RunConfig config, RunData data, TrainableModel model) {
    /** Opens a checkpoint directory, or the latest checkpoint of a run directory. */
    public static TrainedRun open(Path path) {
        Checkpoint ck = Checkpoint.open(path);
        RunConfig config = ck.config(RunConfig.class);
        RunData data = RunData.load(config);
        TrainableModel model = Models.build(data.config(), data.train());
        ck.loadModel(model.module());
        return new TrainedRun(ck, data.config(), data, model);
    }

    /** The run directory: the checkpoint's parent, which holds the metrics log. */
    public Path runDir() {
        Path parent = checkpoint.dir().toAbsolutePath().getParent();
        return parent == null ? checkpoint.dir() : parent;
    }

    /** Evaluates the model on the run's evaluation split. */
    public Evaluator.Result evaluate() {
        return Evaluator.evaluate(model, data.eval(), 256);
    }

    /** Writes the HTML report of this run to {@code file}, with the class x expert matrices of {@code result}. */
    public void writeReport(Path file, Evaluator.Result result) {
        Path log = runDir().resolve(Trainer.METRICS);
        MetricsHistory history = Files.exists(log) ? MetricsLog.read(log) : MetricsHistory.of(List.of());
        ReportInput input = new ReportInput(config.model() + " on " + config.data(), configMap(config),
                provenanceMap(checkpoint.provenance()), config.classNames(), result.classExpert());
        HtmlReport.write(file, history, input);
    }

    static Map<String, String> configMap(RunConfig c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", c.model());
        m.put("data", c.data());
        if (c.moe()) {
            m.put("experts", Integer.toString(c.experts()));
            m.put("top-k", Integer.toString(c.topK()));
            m.put("router", c.router());
        }
        if (c.cnn()) m.put("trunk", c.trunk().toString());
        m.put("width", Integer.toString(c.width()));
        m.put(c.moe() ? "expert hidden" : "ffn hidden", Integer.toString(c.moe() ? c.hidden()
                : (c.matchesTotal() ? c.experts() : c.topK()) * c.hidden()));
        TrainConfig t = c.train();
        m.put("epochs", Integer.toString(t.epochs()));
        if (t.maxSteps() > 0) m.put("max steps", Long.toString(t.maxSteps()));
        m.put("batch", Integer.toString(t.batchSize()));
        m.put("optimizer", t.optimizer() + (t.optimizer().equals("sgd") ? " momentum " + t.momentum() : ""));
        m.put("learning rate", t.learningRate() + " (warmup " + t.warmupSteps() + " steps, cosine to " + t.minLearningRate() + ")");
        m.put("weight decay", Double.toString(t.weightDecay()));
        m.put("gradient clip", t.clipNorm() > 0 ? Double.toString(t.clipNorm()) : "off");
        m.put("augmentation", t.augmentPadding() > 0 || t.horizontalFlip()
                ? "crop padding " + t.augmentPadding() + (t.horizontalFlip() ? ", horizontal flip" : "") : "none");
        m.put("seed", Long.toString(t.seed()));
        return m;
    }

    static Map<String, String> provenanceMap(Provenance p) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("moe4j", p.codeVersion());
        m.put("seed", Long.toString(p.seed()));
        m.put("data hash", p.dataHash());
        m.put("java", p.javaVersion() + " (" + p.javaVendor() + ", " + p.javaVm() + ")");
        m.put("os", p.os() + " " + p.arch());
        m.put("vector species", p.vectorSpecies() + ", " + p.floatLanes() + " float lanes, backend " + p.backend());
        m.put("threads", Integer.toString(p.threads()));
        m.put("written", p.timestamp());
        return m;
    }
}
