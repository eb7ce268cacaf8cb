package org.moe4j.train;

import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.moe.MoeConfig;
import org.moe4j.moe.MoeLayer;
import org.moe4j.moe.MoeOutput;
import org.moe4j.moe.Router;
import org.moe4j.moe.Routers;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Linear;
import org.moe4j.nn.Module;
import org.moe4j.train.data.Dataset;

/**
 * Builds a run's model from its {@link RunConfig}. Interim: until the classifier models (org.moe4j.model) are
 * merged, the MLP kinds are a minimal head (Linear, ReLU, one MoE layer or FFN, Linear) and the CNN kinds are
 * refused; the same seed builds the same weights.
 */
public final class Models {
    private Models() {}

    /** A fresh model for {@code config} on data shaped like {@code data}. */
    public static TrainableModel build(RunConfig config, Dataset data) {
        if (config.cnn()) {
            throw new Moe4jException("--model " + config.model() + " is not available in this build yet; use moe-mlp or dense-mlp");
        }
        return new SimpleHead(config, data.sampleSize(), data.numClasses(), new Rng(config.seed()));
    }

    /** Linear to width, ReLU, a residual MoE layer (or a dense FFN of k times the expert hidden), Linear to classes. */
    static final class SimpleHead extends Module implements TrainableModel {
        private final Linear in;
        private final MoeLayer moe;
        private final Linear up, down;
        private final Linear out;

        SimpleHead(RunConfig c, int features, int classes, Rng rng) {
            in = child("in", new Linear(features, c.width(), true, rng));
            if (c.moe()) {
                MoeConfig m = MoeConfig.of(c.width(), c.hidden(), c.experts(), c.topK());
                moe = child("moe", new MoeLayer(m, Routers.create(c.router(), m, rng), rng));
                up = down = null;
            } else {
                moe = null;
                up = child("up", new Linear(c.width(), c.topK() * c.hidden(), true, rng));
                down = child("down", new Linear(c.topK() * c.hidden(), c.width(), true, rng));
            }
            out = child("out", new Linear(c.width(), classes, true, rng));
        }

        @Override
        public Module module() {
            return this;
        }

        @Override
        public Output forward(Variable x, RoutingContext ctx) {
            Variable h = Activations.relu(in.forward(x));
            if (moe == null) {
                h = org.moe4j.autograd.Arith.add(h, down.forward(Activations.relu(up.forward(h))));
                return new Output(out.forward(h), null, List.of());
            }
            MoeOutput m = moe.forward(h, ctx.withLayer("moe"));
            h = org.moe4j.autograd.Arith.add(h, m.output());
            return new Output(out.forward(h), m.auxLoss(), List.of(m.stats()));
        }

        @Override
        public Map<String, Router> routers() {
            return moe == null ? Map.of() : Map.of("moe", moe.router());
        }
    }
}
