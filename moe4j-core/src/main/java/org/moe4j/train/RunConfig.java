package org.moe4j.train;

import java.util.List;
import java.util.Set;
import org.moe4j.common.Moe4jException;
import org.moe4j.moe.Routers;
import org.moe4j.train.data.Normalization;

/**
 * Everything a training run was started with, saved in each checkpoint's config.json, so that {@code eval},
 * {@code inspect}, {@code report} and {@code train --resume} rebuild the same model on the same data.
 *
 * @param model              "moe-cnn", "moe-mlp", "dense-cnn" or "dense-mlp" (dense baselines with the MoE model's
 *                           active parameters), "dense-cnn-total" or "dense-mlp-total" (with its total parameters)
 * @param data               the {@code --data} spec
 * @param experts            routed experts per MoE layer
 * @param topK               experts per example
 * @param router             the router's catalog name
 * @param width              the head's width
 * @param hidden             each expert's hidden width (dense models: k times this, the same active size)
 * @param trunk              the CNNs' convolution stages' channels, e.g. [32, 64] (unused by the MLPs)
 * @param train              optimizer, schedule, batching and checkpoint settings (its seed seeds everything)
 * @param normalization      fitted on the training split; null before it is fitted
 * @param classNames         the classes, index = label
 * @param validationFraction held out of the training data when the source has no test split
 */
public record RunConfig(String model, String data, int experts, int topK, String router, int width, int hidden,
        List<Integer> trunk, TrainConfig train, Normalization normalization, List<String> classNames, double validationFraction) {
    public static final Set<String> MODELS = Set.of("moe-cnn", "moe-mlp", "dense-cnn", "dense-mlp", "dense-cnn-total",
            "dense-mlp-total");

    public RunConfig {
        if (model == null || !MODELS.contains(model)) {
            throw new Moe4jException("--model " + model + ": use one of moe-cnn, moe-mlp, dense-cnn, dense-mlp, "
                    + "dense-cnn-total, dense-mlp-total");
        }
        if (experts < 1) throw new Moe4jException("--experts must be at least 1, got " + experts);
        if (topK < 1 || topK > experts) throw new Moe4jException("--top-k must be in [1, " + experts + "], got " + topK);
        if (width < 1 || hidden < 1) throw new Moe4jException("width and hidden must be positive, got " + width + ", " + hidden);
        Routers.find(router);
        if (!(validationFraction > 0 && validationFraction < 1)) {
            throw new Moe4jException("validation fraction must be in (0, 1), got " + validationFraction);
        }
        classNames = classNames == null ? List.of() : List.copyOf(classNames);
        trunk = trunk == null || trunk.isEmpty() ? List.of(32, 64) : List.copyOf(trunk);
        for (int c : trunk) if (c < 1) throw new Moe4jException("--trunk channels must be positive, got " + trunk);
    }

    public boolean cnn() {
        return model.contains("-cnn");
    }

    /** A dense baseline as large as the MoE model in all (rather than active) parameters. */
    public boolean matchesTotal() {
        return model.endsWith("-total");
    }

    public boolean moe() {
        return model.startsWith("moe-");
    }

    public long seed() {
        return train.seed();
    }

    public RunConfig withData(Normalization n, List<String> names) {
        return new RunConfig(model, data, experts, topK, router, width, hidden, trunk, train, n, names, validationFraction);
    }
}
