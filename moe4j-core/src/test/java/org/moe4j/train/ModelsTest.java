package org.moe4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.model.Classifier;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.train.data.Dataset;

/** The dense baselines match the MoE model's active parameters, or (the "-total" kinds) all of them. */
class ModelsTest {
    private static final Dataset DATA = new Dataset(Tensor.zeros(4, 1, 8, 8), new IntTensor(new int[] {0, 1, 2, 0}, new int[] {4}),
            List.of("a", "b", "c"));

    private static Classifier build(String model) {
        RunConfig c = new RunConfig(model, "x", 8, 2, "topk", 16, 12, List.of(4), TrainConfig.defaults(1, 2, 0.01, 1), null,
                null, 0.1);
        return (Classifier) Models.build(c, DATA).module();
    }

    @Test
    void denseBaselinesMatchActiveOrTotalParameters() {
        for (String kind : List.of("cnn", "mlp")) {
            Classifier moe = build("moe-" + kind);
            Classifier active = build("dense-" + kind);
            Classifier total = build("dense-" + kind + "-total");
            // Equal up to the router and per-expert biases, which a dense FFN of the same width has once.
            long routerAndBiases = moe.parameterCount() - total.parameterCount();
            assertTrue(routerAndBiases > 0 && routerAndBiases < 16 * 8 + 8 * 16, kind + ": " + routerAndBiases);
            long activeGap = moe.activeParameterCount() - active.parameterCount();
            assertTrue(activeGap > 0 && activeGap < 16 * 8 + 8 * 16, kind + ": " + activeGap);
            assertEquals(active.parameterCount(), active.activeParameterCount());
        }
    }
}
