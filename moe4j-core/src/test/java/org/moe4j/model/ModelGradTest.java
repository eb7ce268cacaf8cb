package org.moe4j.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.GradCheck;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.ExpertKind;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.testing.TestData;

/**
 * Float64 finite-difference gradchecks of whole tiny models: every weight, through trunk, MoE routing, combine,
 * norms and the classifier, with the training loss (cross-entropy plus the auxiliary losses).
 */
class ModelGradTest {
    private static void check(ClassifierConfig config, int[] inputShape, long seed) {
        Rng rng = new Rng(seed);
        Classifier model;
        try (var s = Init.withDType(DType.F64)) {
            model = config.build(rng);
        }
        Variable x = Variable.parameter(TestData.randn64(rng, inputShape));
        int batch = inputShape[0];
        int[] labels = new int[batch];
        for (int i = 0; i < batch; i++) labels[i] = i % config.classes();
        IntTensor targets = new IntTensor(labels, new int[] {batch});
        List<Variable> params = new ArrayList<>(model.parameters());
        params.add(x);
        GradCheck.Result r = GradCheck.checkParameters(
                () -> model.forward(x, RoutingContext.training("ignored", new Rng(9))).loss(targets), params);
        assertTrue(r.passed(), config.kind() + ": " + r);
    }

    @Test
    void moeMlp() {
        MoeHeadConfig head = MoeHeadConfig.of(4, 3, 2, 3).withLayers(2).withLosses(0.1,
                org.moe4j.moe.BalanceScope.MICRO_BATCH, 0.01);
        check(new MoeMlpConfig(3, 3, head), new int[] {5, 3}, 1);
    }

    @Test
    void moeCnnWithConvExpertsAndSwiGluHead() {
        ConvTrunkConfig trunk = new ConvTrunkConfig(1, 6, 6, List.of(2, 3), 3);
        MoeHeadConfig head = MoeHeadConfig.of(4, 3, 2, 3).withExpertKind(ExpertKind.SWIGLU, false);
        check(new MoeCnnConfig(trunk, 3, head, new ConvMoeConfig(1, 2, 1, "topk", 0.1)), new int[] {3, 1, 6, 6}, 2);
    }

    @Test
    void denseBaselines() {
        check(new DenseMlpConfig(3, 3, new DenseHeadConfig(4, 1, ExpertKind.GELU, 5, true, 0)), new int[] {4, 3}, 3);
        ConvTrunkConfig trunk = new ConvTrunkConfig(2, 5, 4, List.of(2), 3);
        check(new DenseCnnConfig(trunk, 2, new DenseHeadConfig(3, 1, ExpertKind.SWIGLU, 4, false, 0)),
                new int[] {2, 2, 5, 4}, 4);
    }
}
