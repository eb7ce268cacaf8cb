package org.moe4j.io;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.common.Rng;
import org.moe4j.optim.OptimizerState;
import org.moe4j.optim.Sgd;
import org.moe4j.tensor.Tensor;

/**
 * Run in a child JVM by {@link CheckpointCrashTest}, which kills it at a random moment. Saves checkpoints in a
 * loop, resuming from the latest one if there is one; at step s every weight, buffer and momentum value is s,
 * so a checkpoint that mixed two saves would show it.
 */
public final class CheckpointCrashChild {
    static final TinyModel.Config CONFIG = new TinyModel.Config(128, 512, 128, 0.1, "sgd", List.of());

    private CheckpointCrashChild() {}

    public static void main(String[] args) {
        Path run = Path.of(args[0]);
        TinyModel model = new TinyModel(CONFIG, 1);
        Sgd opt = new Sgd(model.parameters(), 0.1, 0.9, 0, false);
        CheckpointStore store = new CheckpointStore(run, 2);
        long step = 0;
        if (store.latest().isPresent()) {
            Checkpoint ck = Checkpoint.open(run);
            ck.loadModel(model);
            ck.loadOptimizer(opt, model);
            step = ck.state().step();
        }
        while (true) {
            step++;
            fill(model, opt, step);
            store.save(model, opt, CONFIG, Provenance.capture(1, "none"), new TrainingState(step, 0, 0,
                    Map.of("data", new Rng(step).state()), Map.of()));
        }
    }

    static void fill(TinyModel model, Sgd opt, long step) {
        for (Tensor t : Checkpoint.modelTensors(model).values()) java.util.Arrays.fill(t.floats(), step);
        Map<String, Tensor> momentum = new LinkedHashMap<>();
        opt.state().tensors().forEach((name, t) -> momentum.put(name, Tensor.full(step, t.shape())));
        opt.loadState(new OptimizerState(opt.kind(), step, 0.1, momentum));
    }
}
