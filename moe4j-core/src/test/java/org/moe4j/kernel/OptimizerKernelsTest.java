package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class OptimizerKernelsTest {
    @Test
    void sgdFastPathMatchesReference() {
        Rng rng = new Rng(5);
        for (int n : new int[] {1, 15, 16, 17, 100, 40_000}) {
            for (boolean nesterov : new boolean[] {false, true}) {
                Tensor w = TestData.randn(rng, n), g = TestData.randn(rng, n), buf = TestData.randn(rng, n);
                Tensor w2 = w.copy(), buf2 = buf.copy();
                OptimizerKernels.sgd(w, g, buf, 0.1f, 0.9f, 0.01f, nesterov);
                OptimizerKernels.sgdReference(w2.storage(), g.storage(), buf2.storage(), n, 0.1f, 0.9f, 0.01f, nesterov);
                TestData.assertClose(w2, w, 1e-6, 1e-5);
                TestData.assertClose(buf2, buf, 1e-6, 1e-5);
            }
        }
    }

    @Test
    void adamwFastPathMatchesReferenceOverSeveralSteps() {
        Rng rng = new Rng(6);
        for (int n : new int[] {3, 31, 1000}) {
            Tensor w = TestData.randn(rng, n), m = Tensor.zeros(n), v = Tensor.zeros(n);
            Tensor w2 = w.copy(), m2 = m.copy(), v2 = v.copy();
            for (int t = 1; t <= 5; t++) {
                Tensor g = TestData.randn(rng, n);
                OptimizerKernels.adamw(w, g, m, v, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, t);
                float c1 = (float) (1 - Math.pow(0.9f, t)), c2 = (float) (1 - Math.pow(0.999f, t));
                OptimizerKernels.adamwReference(w2.storage(), g.storage(), m2.storage(), v2.storage(), n, 1e-2f,
                        0.9f, 0.999f, 1e-8f, 0.1f, c1, c2);
            }
            TestData.assertClose(w2, w, 1e-6, 1e-5);
        }
    }

    @Test
    void firstAdamStepMovesEachWeightByLearningRateAgainstItsGradientSign() {
        // After one step with bias correction, m/c1 = g and sqrt(v/c2) = |g|: the step is lr * sign(g).
        Tensor w = Tensor.of(new float[] {1, 1, 1}, 3);
        Tensor g = Tensor.of(new float[] {0.5f, -2, 1e-3f}, 3);
        OptimizerKernels.adamw(w, g, Tensor.zeros(3), Tensor.zeros(3), 0.1f, 0.9f, 0.999f, 1e-12f, 0, 1);
        assertEquals(0.9f, w.get(0), 1e-6);
        assertEquals(1.1f, w.get(1), 1e-6);
        assertEquals(0.9f, w.get(2), 1e-5);
    }
}
