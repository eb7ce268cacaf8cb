package org.moe4j.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.moe.RoutingContext;
import org.moe4j.optim.AdamW;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/** Each model learns a small separable problem in a few hundred AdamW steps: the loss falls below a stated bound. */
class ModelLearningTest {
    private record Batch(Tensor x, IntTensor y) {}

    /** Three Gaussian blobs in 6 dimensions, centres 5 from the origin on different axes, unit noise. */
    private static Batch blobs(Rng rng, int n) {
        float[] x = new float[n * 6];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(3);
            for (int d = 0; d < 6; d++) x[i * 6 + d] = (float) (rng.normal() + (d == 2 * y[i] ? 5 : 0));
        }
        return new Batch(Tensor.of(x, n, 6), new IntTensor(y, new int[] {n}));
    }

    /** 8x8 images of a horizontal bar, a vertical bar or a diagonal, at a random place, with noise 0.2. */
    private static Batch bars(Rng rng, int n) {
        float[] x = new float[n * 64];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(3);
            int at = rng.nextInt(8);
            for (int r = 0; r < 8; r++) {
                for (int c = 0; c < 8; c++) {
                    boolean on = switch (y[i]) {
                        case 0 -> r == at;
                        case 1 -> c == at;
                        default -> (r - c + 8) % 8 == at;
                    };
                    x[i * 64 + r * 8 + c] = (float) ((on ? 1 : 0) + 0.2 * rng.normal());
                }
            }
        }
        return new Batch(Tensor.of(x, n, 1, 8, 8), new IntTensor(y, new int[] {n}));
    }

    /** Trains on fresh batches and returns the mean training loss (cross-entropy, no aux) of the last 20 steps. */
    private static double train(Classifier model, java.util.function.Function<Rng, Batch> data, int steps, double lr) {
        AdamW opt = new AdamW(model.parameters(), lr);
        Rng rng = new Rng(17);
        double recent = 0;
        for (int s = 0; s < steps; s++) {
            Batch b = data.apply(rng);
            ClassifierOutput out = model.forward(Variable.constant(b.x()), RoutingContext.training("m", rng));
            Variable loss = out.loss(b.y());
            opt.zeroGrad();
            loss.backward();
            opt.step();
            if (s >= steps - 20) recent += out.crossEntropy(b.y()).value().item() / 20;
        }
        return recent;
    }

    @Test
    void mlpsSeparateBlobs() {
        MoeMlpConfig moe = new MoeMlpConfig(6, 3, MoeHeadConfig.of(16, 4, 2, 16));
        for (ClassifierConfig c : List.of(moe, moe.withHead(moe.head().withRouter("switch")),
                DenseMlpConfig.matchingActive(moe))) {
            double loss = train(c.build(new Rng(1)), rng -> blobs(rng, 32), 100, 1e-2);
            assertTrue(loss < 0.1, c.kind() + " " + c + ": loss " + loss); // 0.002 to 0.02 when written
        }
    }

    @Test
    void cnnsTellBarsFromDiagonals() {
        ConvTrunkConfig trunk = new ConvTrunkConfig(1, 8, 8, List.of(6), 3);
        MoeCnnConfig moe = new MoeCnnConfig(trunk, 3, MoeHeadConfig.of(16, 4, 2, 16), ConvMoeConfig.none());
        for (ClassifierConfig c : List.of(moe.withConvMoe(ConvMoeConfig.of(1, 4, 1)), DenseCnnConfig.matchingActive(moe))) {
            double loss = train(c.build(new Rng(1)), rng -> bars(rng, 16), 100, 1e-2);
            assertTrue(loss < 0.15, c.kind() + " " + c + ": loss " + loss); // 0.003 and 0.008 when written
        }
    }
}
