package org.moe4j.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.Tensor;

class OptimTest {
    private static Variable withGrad(float[] value, float[] grad) {
        Variable p = Variable.parameter(Tensor.of(value, value.length));
        p.backward(Tensor.of(grad, grad.length)); // a leaf's backward just stores the seed as its gradient
        return p;
    }

    @Test
    void sgdWithMomentumFollowsPyTorchsRecurrence() {
        Variable p = withGrad(new float[] {1}, new float[] {1});
        Sgd sgd = new Sgd(List.of(p), 0.1, 0.5, 0, false);
        sgd.step(); // buf = 1, w = 1 - 0.1
        assertEquals(0.9f, p.value().get(0), 1e-7);
        sgd.step(); // buf = 0.5 + 1 = 1.5, w = 0.9 - 0.15
        assertEquals(0.75f, p.value().get(0), 1e-7);
        assertEquals(2, sgd.steps());
    }

    @Test
    void parametersWithoutGradientsAreLeftAlone() {
        Variable p = Variable.parameter(Tensor.of(new float[] {3}, 1));
        new AdamW(List.of(p), 0.1).step();
        assertEquals(3f, p.value().get(0));
    }

    @Test
    void warmupCosineRisesThenDecaysToTheFloor() {
        assertEquals(0.1, Schedules.warmupCosine(0, 10, 110, 1.0, 0.0), 1e-12);
        assertEquals(1.0, Schedules.warmupCosine(9, 10, 110, 1.0, 0.0), 1e-12);
        assertEquals(0.5, Schedules.warmupCosine(60, 10, 110, 1.0, 0.0), 1e-12);
        assertEquals(0.05, Schedules.warmupCosine(500, 10, 110, 1.0, 0.05), 1e-12);
        assertThrows(Moe4jException.class, () -> Schedules.warmupCosine(0, 20, 10, 1, 0));
    }

    @Test
    void clipGradNormScalesToTheLimitAndReportsTheOriginalNorm() {
        Variable a = withGrad(new float[] {3, 0}, new float[] {3, 0});
        Variable b = withGrad(new float[] {4}, new float[] {4});
        double norm = GradClip.clipGradNorm(List.of(a, b), 1.0);
        assertEquals(5.0, norm, 1e-9);
        assertEquals(0.6f, a.grad().get(0), 1e-5);
        assertEquals(0.8f, b.grad().get(0), 1e-5);
    }

    @Test
    void badHyperparametersAreRejectedWithTheirValue() {
        Variable p = Variable.parameter(Tensor.zeros(1));
        Moe4jException e = assertThrows(Moe4jException.class, () -> new Sgd(List.of(p), 0.1, 1.5, 0, false));
        assertEquals("sgd: momentum must be in [0, 1), got 1.5", e.getMessage());
        assertThrows(Moe4jException.class, () -> new AdamW(List.of(p), Double.NaN));
        assertThrows(Moe4jException.class, () -> new Sgd(List.of(Variable.constant(Tensor.zeros(1))), 0.1));
    }
}
