package org.moe4j.train;

import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.MoeConfig;
import org.moe4j.moe.MoeLayer;
import org.moe4j.moe.MoeOutput;
import org.moe4j.moe.Router;
import org.moe4j.moe.Routers;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Linear;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.train.data.Dataset;

/** A tiny MoE classifier for trainer tests: Linear, ReLU, one MoE layer, Linear. */
final class TinyMoe extends Module implements TrainableModel {
    private final Linear in;
    private final MoeLayer moe;
    private final Linear out;

    TinyMoe(int features, int classes, String router, long seed) {
        Rng rng = new Rng(seed);
        MoeConfig cfg = MoeConfig.of(8, 8, 4, 2);
        in = child("in", new Linear(features, 8, true, rng));
        moe = child("moe", new MoeLayer(cfg, Routers.create(router, cfg, rng), rng));
        out = child("out", new Linear(8, classes, true, rng));
    }

    @Override
    public Module module() {
        return this;
    }

    @Override
    public Output forward(Variable x, RoutingContext ctx) {
        MoeOutput m = moe.forward(Activations.relu(in.forward(x)), ctx.withLayer("moe"));
        return new Output(out.forward(m.output()), m.auxLoss(), List.of(m.stats()));
    }

    @Override
    public Map<String, Router> routers() {
        return Map.of("moe", moe.router());
    }

    /** n samples of 6 features in 3 classes, the class a function of the features plus noise. */
    static Dataset data(int n, long seed) {
        Rng rng = new Rng(seed);
        float[] x = new float[n * 6];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < 6; j++) {
                x[i * 6 + j] = (float) rng.normal();
                s += (j % 2 == 0 ? 1 : -0.5) * x[i * 6 + j];
            }
            y[i] = s < -0.5 ? 0 : s < 0.5 ? 1 : 2;
        }
        return new Dataset(Tensor.of(x, n, 6), new IntTensor(y, new int[] {n}), List.of("low", "mid", "high"));
    }
}
