package org.moe4j.train;

import java.util.Map;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.moe.Router;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;
import org.moe4j.train.data.Augmentation;
import org.moe4j.train.data.Batch;
import org.moe4j.train.data.Batcher;
import org.moe4j.train.data.Dataset;
import org.moe4j.train.data.ImageAugmentation;

/**
 * Classification as a {@link TrainingTask}: shuffled (optionally augmented) batches of a {@link Dataset},
 * cross-entropy on the labels, accuracy per step, and the {@link Evaluator} on the evaluation split.
 */
public final class ClassifierTask implements TrainingTask {
    private final TrainableModel model;
    private final Dataset train;
    private final Dataset eval;
    private final String evalSplit;
    private final Batcher batcher;
    private final long seed;
    private final int batchSize;

    /** {@code model} on {@code train} in batches of {@code config.batchSize()}, evaluated on {@code eval} (may be null). */
    public ClassifierTask(TrainableModel model, TrainConfig config, Dataset train, Dataset eval, String evalSplit) {
        this.model = model;
        this.train = train;
        this.eval = eval;
        this.evalSplit = evalSplit;
        this.seed = config.seed();
        this.batchSize = config.batchSize();
        boolean augment = config.augmentPadding() > 0 || config.horizontalFlip();
        Augmentation aug = augment ? new ImageAugmentation(config.augmentPadding(), config.horizontalFlip()) : Augmentation.none();
        if (augment && !train.isImages()) {
            throw new Moe4jException("train: image augmentation needs images [n, c, h, w], the data is " + train);
        }
        this.batcher = new Batcher(train, config.batchSize(), true, false, aug, config.seed());
    }

    @Override
    public Module module() {
        return model.module();
    }

    @Override
    public Map<String, Router> routers() {
        return model.routers();
    }

    @Override
    public int batchesPerEpoch() {
        return batcher.batchesPerEpoch();
    }

    @Override
    public int epoch() {
        return batcher.epoch();
    }

    @Override
    public boolean hasNext() {
        return batcher.hasNext();
    }

    @Override
    public void nextEpoch() {
        batcher.nextEpoch();
    }

    @Override
    public long position() {
        return batcher.cursor();
    }

    @Override
    public void restore(int epoch, long position) {
        batcher.restore(new Batcher.Position(seed, epoch, Math.toIntExact(position), train.size()));
    }

    @Override
    public Step step(RoutingContext ctx) {
        Batch b = batcher.next();
        TrainableModel.Output o = model.forward(Variable.constant(b.features()), ctx);
        Variable ce = Losses.crossEntropy(o.logits(), b.labels());
        double accuracy = (double) Evaluator.correct(o.logits().value(), b.labels()) / b.size();
        return new Step(ce, o.auxLoss(), o.stats(), accuracy, Double.NaN, b.size());
    }

    @Override
    public Evaluation evaluate() {
        if (eval == null) return null;
        Evaluator.Result r = Evaluator.evaluate(model, eval, Math.max(batchSize, 256));
        return new Evaluation(r.loss(), r.accuracy(), Double.NaN);
    }

    @Override
    public String evalSplit() {
        return evalSplit;
    }

    @Override
    public String unit() {
        return train.isImages() ? "images" : "examples";
    }

    @Override
    public long itemsPerStep() {
        return batchSize;
    }

    @Override
    public String fingerprint() {
        return train.fingerprint();
    }
}
