package org.moe4j.train;

import java.util.Map;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.model.Classifier;
import org.moe4j.model.ClassifierConfig;
import org.moe4j.model.ClassifierOutput;
import org.moe4j.model.ConvMoeConfig;
import org.moe4j.model.ConvTrunkConfig;
import org.moe4j.model.DenseCnnConfig;
import org.moe4j.model.DenseMlpConfig;
import org.moe4j.model.MoeCnnConfig;
import org.moe4j.model.MoeHeadConfig;
import org.moe4j.model.MoeMlpConfig;
import org.moe4j.moe.Router;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;
import org.moe4j.train.data.Dataset;

/**
 * Builds a run's classifier ({@link org.moe4j.model}) from its {@link RunConfig}: the MoE head of the flags
 * (width, experts, top-k, router, expert hidden) on the data's shape; the dense kinds are the baselines with as many
 * active FFN weights, or as many in all (the "-total" kinds). The same seed builds the same weights.
 */
public final class Models {
    private Models() {}

    /** The classifier config of {@code config} for data shaped like {@code data}. */
    public static ClassifierConfig classifierConfig(RunConfig config, Dataset data) {
        MoeHeadConfig head = MoeHeadConfig.of(config.width(), config.experts(), config.topK(), config.hidden())
                .withRouter(config.router());
        int classes = data.numClasses();
        if (config.cnn()) {
            int[] s = data.sampleShape(); // [c, h, w]
            MoeCnnConfig moe = new MoeCnnConfig(new ConvTrunkConfig(s[0], s[1], s[2], config.trunk(), 3), classes, head,
                    ConvMoeConfig.none());
            if (config.moe()) return moe;
            return config.matchesTotal() ? DenseCnnConfig.matchingTotal(moe) : DenseCnnConfig.matchingActive(moe);
        }
        MoeMlpConfig moe = new MoeMlpConfig(data.sampleSize(), classes, head);
        if (config.moe()) return moe;
        return config.matchesTotal() ? DenseMlpConfig.matchingTotal(moe) : DenseMlpConfig.matchingActive(moe);
    }

    /** A fresh model for {@code config} on data shaped like {@code data}. */
    public static TrainableModel build(RunConfig config, Dataset data) {
        return of(classifierConfig(config, data).build(new Rng(config.seed())));
    }

    /** The trainer's view of a classifier. */
    public static TrainableModel of(Classifier classifier) {
        return new TrainableModel() {
            @Override
            public Module module() {
                return (Module) classifier;
            }

            @Override
            public Output forward(Variable x, RoutingContext ctx) {
                ClassifierOutput o = classifier.forward(x, ctx);
                return new Output(o.logits(), o.auxLoss(), o.stats());
            }

            @Override
            public Map<String, Router> routers() {
                return classifier.routers();
            }
        };
    }
}
