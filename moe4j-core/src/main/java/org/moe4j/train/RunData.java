package org.moe4j.train;

import org.moe4j.train.data.DataSpec;
import org.moe4j.train.data.DataSplits;
import org.moe4j.train.data.Dataset;
import org.moe4j.train.data.Normalization;

/**
 * A run's data, ready for its model: the training split and the evaluation split (the source's test split, else a
 * seeded validation hold-out), normalized with statistics fitted on the training split (or those saved with the run),
 * and flattened to vectors for the MLPs.
 *
 * @param config    the run's config, with the normalization and class names filled in
 * @param evalSplit "test" or "validation"
 */
public record RunData(RunConfig config, Dataset train, Dataset eval, String evalSplit) {
    /** Loads and prepares the data of {@code config}. */
    public static RunData load(RunConfig config) {
        DataSplits splits = DataSpec.parse(config.data()).load();
        Dataset train = splits.train();
        Dataset eval;
        String split;
        if (splits.test().isPresent()) {
            eval = splits.test().get();
            split = "test";
        } else {
            Dataset.Split s = train.split(config.validationFraction(), config.seed());
            train = s.train();
            eval = s.validation();
            split = "validation";
        }
        Normalization n = config.normalization() != null ? config.normalization() : Normalization.fit(train);
        train = shape(config, n.apply(train));
        eval = shape(config, n.apply(eval));
        return new RunData(config.withData(n, train.classNames()), train, eval, split);
    }

    /** MLPs take vectors: [n, ...] becomes [n, features]; CNNs need images [n, c, h, w]. */
    private static Dataset shape(RunConfig config, Dataset d) {
        if (config.cnn()) {
            if (!d.isImages()) {
                throw new org.moe4j.common.Moe4jException("--model " + config.model() + " needs images; " + config.data()
                        + " holds vectors of " + d.sampleSize() + " features (use moe-mlp or dense-mlp)");
            }
            return d;
        }
        return d.features().rank() == 2 ? d : d.withFeatures(d.features().reshape(d.size(), d.sampleSize()));
    }
}
