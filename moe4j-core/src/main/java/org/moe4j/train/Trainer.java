package org.moe4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.io.Checkpoint;
import org.moe4j.io.CheckpointStore;
import org.moe4j.io.Provenance;
import org.moe4j.io.TrainingState;
import org.moe4j.moe.Router;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.RoutingContext;
import org.moe4j.moe.SigmoidBiasRouter;
import org.moe4j.nn.Module;
import org.moe4j.optim.AdamW;
import org.moe4j.optim.GradClip;
import org.moe4j.optim.Optimizer;
import org.moe4j.optim.Schedules;
import org.moe4j.optim.Sgd;
import org.moe4j.train.data.Dataset;
import org.moe4j.train.progress.MetricsLog;
import org.moe4j.train.progress.MetricsRecord;
import org.moe4j.train.progress.ProgressBar;

/**
 * Trains a {@link TrainingTask} (a classifier, a language model): AdamW or SGD with momentum, linear warmup and cosine decay, gradient clipping, the model's
 * weighted auxiliary losses, an evaluation at each epoch's end, selection-bias updates of DeepSeek-V3 routers, and
 * checks that stop the run, without a checkpoint, when the loss or the gradient norm is not finite or the loss
 * spikes above a multiple of its running median.
 *
 * <p>With an output directory, checkpoints go there every {@code checkpointEvery} steps, at each epoch's end and at
 * the end, with the metrics log in {@code metrics.jsonl}. {@link #resume()} continues bit-identically from the
 * latest checkpoint: weights and buffers, optimizer state, the routing generator, the data position, router
 * biases and the schedule's step all come back, so N + N steps with a resume between equal 2N steps straight.
 * The model must have been built as the saved one was (its weights are overwritten).
 */
public final class Trainer {
    /** The metrics log's file name in the output directory. */
    public static final String METRICS = "metrics.jsonl";
    static final String RNG = "routing";
    static final String BIAS = "router_bias.";
    static final String RECENT = "recent_loss";
    static final String ELAPSED = "elapsed_seconds";
    static final String LOSS_EMA = "loss_ema";
    static final String LAST_EVAL = "last_eval";
    private static final double SMOOTHING = 0.98;

    private final TrainingTask task;
    private final TrainConfig config;
    private final Optimizer optimizer;
    private final long totalSteps;
    private final long warmup;
    private Path out;
    private Object runConfig;
    private CheckpointStore store;
    private ProgressBar progress;
    private String dataHash;

    // Run state; all of it is saved in a checkpoint.
    private Rng rng;
    private long step;
    private final ArrayList<Double> recentLosses = new ArrayList<>();
    private double lossEma, lossEmaWeight;
    private double elapsedBefore;
    private double lastEvalLoss = Double.NaN, lastEvalAccuracy = Double.NaN, lastEvalBitsPerByte = Double.NaN;
    private long lastEvalStep = -1;

    // Per process.
    private MetricsLog metrics;
    private final Map<String, RouterStats> pendingRouting = new LinkedHashMap<>();
    private long lastSavedStep = -1;
    private long startNanos;
    private long pauseAfter = Long.MAX_VALUE;
    private long deadlineNanos = Long.MAX_VALUE;

    /**
     * A trainer of {@code model} on {@code train}, evaluated on {@code eval} (may be null) under the name
     * {@code evalSplit} ("test", "validation").
     */
    public Trainer(TrainableModel model, TrainConfig config, Dataset train, Dataset eval, String evalSplit) {
        this(new ClassifierTask(model, config, train, eval, evalSplit), config);
    }

    /** A trainer of {@code task}. */
    public Trainer(TrainingTask task, TrainConfig config) {
        this.task = task;
        this.config = config;
        List<Variable> params = task.module().parameters();
        this.optimizer = config.optimizer().equals("sgd")
                ? new Sgd(params, config.learningRate(), config.momentum(), config.weightDecay(), false)
                : new AdamW(params, config.learningRate(), 0.9, 0.999, 1e-8, config.weightDecay());
        this.totalSteps = config.totalSteps(task.batchesPerEpoch());
        this.warmup = Math.min(config.warmupSteps(), totalSteps);
        this.rng = new Rng(config.seed()).split();
    }

    /** Saves checkpoints and the metrics log in {@code dir}; {@code runConfig} is stored in each checkpoint's config.json. */
    public Trainer output(Path dir, Object runConfig) {
        this.out = dir;
        this.runConfig = runConfig;
        this.store = new CheckpointStore(dir, config.keepCheckpoints());
        return this;
    }

    /** Shows progress on {@code bar}. */
    public Trainer progress(ProgressBar bar) {
        this.progress = bar;
        return this;
    }

    /**
     * Ends this process's part of the run after {@code step} steps (with a checkpoint), without changing the run's
     * length or schedule: a later {@link #resume()} continues as if nothing happened. For time-sliced runs and tests.
     */
    public Trainer pauseAfter(long step) {
        this.pauseAfter = step;
        return this;
    }

    /**
     * Ends the run once this process has trained for {@code seconds} (checked after each step), evaluating and
     * saving as at the end: for runs of a fixed time, such as the quickstart's comparison. Not reproducible.
     */
    public Trainer timeLimit(double seconds) {
        this.deadlineNanos = System.nanoTime() + (long) (seconds * 1e9);
        return this;
    }

    /** The optimizer steps the whole run takes. */
    public long totalSteps() {
        return totalSteps;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    /** Trains from the start. */
    public TrainResult run() {
        if (out != null) metrics = MetricsLog.create(out.resolve(METRICS));
        return loop();
    }

    /** Continues from the latest checkpoint in the output directory. */
    public TrainResult resume() {
        if (out == null) throw new Moe4jException("train: --resume needs an output directory");
        Checkpoint ck = Checkpoint.open(out);
        if (!ck.provenance().dataHash().equals(dataHash())) {
            throw new Moe4jException("train: cannot resume from " + ck.dir() + ": it was trained on other data (hash "
                    + ck.provenance().dataHash() + ", this data " + dataHash() + "); resume with the same --data");
        }
        if (ck.provenance().seed() != config.seed()) {
            throw new Moe4jException("train: cannot resume from " + ck.dir() + ": it used seed " + ck.provenance().seed()
                    + ", this run " + config.seed());
        }
        Module module = task.module();
        ck.loadModel(module);
        ck.loadOptimizer(optimizer, module);
        TrainingState st = ck.state();
        step = st.step();
        task.restore(st.epoch(), st.dataPosition());
        rng = Rng.restore(st.rngState(RNG));
        Map<String, List<Double>> m = st.metrics();
        task.routers().forEach((layer, router) -> {
            List<Double> b = m.get(BIAS + layer);
            if (router instanceof SigmoidBiasRouter sb && b != null) {
                sb.setSelectionBias(b.stream().mapToDouble(Double::doubleValue).toArray());
            }
        });
        recentLosses.addAll(m.getOrDefault(RECENT, List.of()));
        List<Double> ema = m.getOrDefault(LOSS_EMA, List.of(0.0, 0.0));
        lossEma = ema.get(0);
        lossEmaWeight = ema.get(1);
        elapsedBefore = m.getOrDefault(ELAPSED, List.of(0.0)).getFirst();
        List<Double> ev = m.get(LAST_EVAL);
        if (ev != null) {
            lastEvalStep = ev.get(0).longValue();
            lastEvalLoss = ev.get(1);
            lastEvalAccuracy = ev.get(2);
            if (ev.size() > 3) lastEvalBitsPerByte = ev.get(3);
        }
        lastSavedStep = step;
        metrics = MetricsLog.resume(out.resolve(METRICS), step);
        return loop();
    }

    private TrainResult loop() {
        startNanos = System.nanoTime();
        try {
            long end = Math.min(totalSteps, pauseAfter);
            while (task.epoch() < config.epochs() && step < end) {
                while (task.hasNext() && step < end && System.nanoTime() < deadlineNanos) {
                    trainStep(System.nanoTime());
                    if (task.evalEvery() > 0 && step % task.evalEvery() == 0 && task.hasNext() && step < totalSteps) {
                        evaluate(); // the epoch's and the run's end evaluate below
                    }
                    if (store != null && config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0
                            && task.hasNext()) {
                        save(); // an epoch's last batch is saved after the epoch's end below
                    }
                }
                if (System.nanoTime() >= deadlineNanos) break;
                if (!task.hasNext()) {
                    evaluate();
                    task.nextEpoch();
                    if (store != null) save();
                }
            }
            if (step < totalSteps && System.nanoTime() >= deadlineNanos) {
                if (lastEvalStep != step) evaluate();
                if (store != null && lastSavedStep != step) save();
                String status = "time limit at step " + step;
                summary(status);
                return result(status);
            }
            if (step < totalSteps) { // paused: the run goes on after a resume
                if (store != null && lastSavedStep != step) save();
                String status = "paused at step " + step;
                summary(status);
                return result(status);
            }
            if (lastEvalStep != step) evaluate();
            if (store != null && lastSavedStep != step) save();
            String status = step < (long) config.epochs() * task.batchesPerEpoch() ? "max-steps" : "completed";
            TrainResult r = result(status);
            summary(status);
            return r;
        } finally {
            if (progress != null) progress.finish();
            if (metrics != null) {
                metrics.close();
                metrics = null;
            }
        }
    }

    private TrainResult result(String status) {
        return new TrainResult(status, step, task.epoch(), smoothedLoss(), lastEvalLoss, lastEvalAccuracy, elapsed(),
                lastEvalBitsPerByte);
    }

    private void trainStep(long t0) {
        double lr = Schedules.warmupCosine(step, warmup, totalSteps, config.learningRate(), config.minLearningRate());
        optimizer.setLearningRate(lr);
        optimizer.zeroGrad();
        TrainingTask.Step o = task.step(RoutingContext.training("model", rng));
        Variable ce = o.loss();
        Variable loss = o.auxLoss() == null ? ce : Arith.add(ce, o.auxLoss());
        double ceValue = ce.value().item();
        double lossValue = loss.value().item();
        double aux = o.auxLoss() == null ? 0 : o.auxLoss().value().item();
        checkLoss(lossValue);
        loss.backward();
        double norm = GradClip.clipGradNorm(optimizer.parameters(), config.clipNorm() > 0 ? config.clipNorm() : Double.MAX_VALUE);
        if (!Double.isFinite(norm)) {
            stop("the gradient norm is " + norm + " at step " + (step + 1));
        }
        optimizer.step();
        step++;
        for (RouterStats s : o.stats()) {
            if (task.routers().get(s.layer()) instanceof SigmoidBiasRouter sb) sb.updateBias(s.routed());
            pendingRouting.merge(s.layer(), s, RouterStats::merge);
        }
        recentLosses.add(lossValue);
        if (recentLosses.size() > config.spikeWindow()) recentLosses.removeFirst();
        lossEma = SMOOTHING * lossEma + (1 - SMOOTHING) * ceValue;
        lossEmaWeight = SMOOTHING * lossEmaWeight + (1 - SMOOTHING);

        double seconds = (System.nanoTime() - t0) / 1e9;
        if (metrics != null) {
            metrics.write(new MetricsRecord.Step(step, task.epoch() + 1, ceValue, o.accuracy(), lr,
                    seconds > 0 ? o.items() / seconds : Double.NaN, elapsed(), aux, o.bitsPerByte()));
            if (step % config.routingEvery() == 0) flushRouting();
        }
        double shown = Double.isNaN(o.accuracy()) ? o.bitsPerByte() : o.accuracy();
        if (progress != null) progress.update(step, task.epoch() + 1, ceValue, shown, o.items());
    }

    /** Stops on a non-finite loss, or one above spikeFactor times the running median once the window is full. */
    private void checkLoss(double loss) {
        if (!Double.isFinite(loss)) stop("the loss is " + loss + " at step " + (step + 1));
        if (config.spikeFactor() > 0 && recentLosses.size() >= config.spikeWindow()) {
            double[] sorted = recentLosses.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            int n = sorted.length;
            double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            if (loss > config.spikeFactor() * median) {
                stop(String.format(java.util.Locale.ROOT, "the loss spiked to %.4g at step %d, over %.3g times its running "
                        + "median %.4g", loss, step + 1, config.spikeFactor(), median));
            }
        }
    }

    private void stop(String what) {
        String where = lastSavedStep >= 0 && out != null
                ? "the last checkpoint (step " + lastSavedStep + ") is in " + out + "; resume from it with --resume"
                : "no checkpoint was written";
        String message = "training stopped: " + what + "; " + where + ". Lower the learning rate (--lr), keep gradient "
                + "clipping on, or use a longer warmup.";
        summary("stopped: " + what);
        throw new TrainingDivergedException(step + 1, message);
    }

    private void evaluate() {
        TrainingTask.Evaluation r = task.evaluate();
        if (r == null) return;
        lastEvalLoss = r.loss();
        lastEvalAccuracy = r.accuracy();
        lastEvalBitsPerByte = r.bitsPerByte();
        lastEvalStep = step;
        if (metrics != null) {
            metrics.write(new MetricsRecord.Eval(step, task.epoch() + 1, task.evalSplit(), r.loss(), r.accuracy(),
                    r.bitsPerByte()));
        }
        if (progress != null) {
            String figure = !Double.isNaN(r.accuracy())
                    ? String.format(java.util.Locale.ROOT, "accuracy %.2f%%", 100 * r.accuracy())
                    : String.format(java.util.Locale.ROOT, "bits per byte %.4f", r.bitsPerByte());
            String when = task.hasNext() ? "step " + step : "epoch " + (task.epoch() + 1);
            progress.message(String.format(java.util.Locale.ROOT, "%s: %s loss %.4f, %s", when, task.evalSplit(),
                    r.loss(), figure));
        }
    }

    private void flushRouting() {
        if (metrics != null && !pendingRouting.isEmpty()) {
            metrics.write(new MetricsRecord.Routing(step, new ArrayList<>(pendingRouting.values())));
        }
        pendingRouting.clear();
    }

    private void save() {
        flushRouting();
        if (metrics != null) metrics.sync();
        Map<String, long[]> rngs = Map.of(RNG, rng.state());
        Map<String, List<Double>> m = new LinkedHashMap<>();
        task.routers().forEach((layer, router) -> {
            double[] b = router.selectionBias();
            if (b != null) m.put(BIAS + layer, Arrays.stream(b).boxed().toList());
        });
        m.put(RECENT, new ArrayList<>(recentLosses));
        m.put(LOSS_EMA, List.of(lossEma, lossEmaWeight));
        m.put(ELAPSED, List.of(elapsed()));
        if (lastEvalStep >= 0) {
            m.put(LAST_EVAL, List.of((double) lastEvalStep, lastEvalLoss, lastEvalAccuracy, lastEvalBitsPerByte));
        }
        TrainingState st = new TrainingState(step, task.epoch(), task.position(), rngs, m);
        store.save(task.module(), optimizer, runConfig, Provenance.capture(config.seed(), dataHash()), st,
                task.checkpointFiles());
        lastSavedStep = step;
    }

    private void summary(String status) {
        if (metrics == null) return;
        double seconds = elapsed();
        metrics.write(new MetricsRecord.Summary(step, task.epoch(), seconds,
                seconds > 0 ? step * (double) task.itemsPerStep() / seconds : Double.NaN, smoothedLoss(), lastEvalLoss,
                lastEvalAccuracy, status, lastEvalBitsPerByte));
        metrics.sync();
    }

    private double smoothedLoss() {
        return lossEmaWeight == 0 ? Double.NaN : lossEma / lossEmaWeight;
    }

    private double elapsed() {
        return elapsedBefore + (System.nanoTime() - startNanos) / 1e9;
    }

    private String dataHash() {
        if (dataHash == null) dataHash = task.fingerprint();
        return dataHash;
    }
}
