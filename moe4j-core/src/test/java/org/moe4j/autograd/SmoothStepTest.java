package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.autograd.ArithTest.check;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class SmoothStepTest {
    @Test
    void exactlyZeroAndOneOutsideTheBandAndTheCubicInside() {
        // gamma 2: band [-1, 1]; inside S(t) = -t^3/4 + 3t/4 + 1/2.
        Variable x = Variable.parameter(Tensor.of(new float[] {-5, -1, -0.5f, 0, 0.5f, 1, 7}, 7));
        Variable y = SmoothStep.smoothStep(x, 2);
        float inside = (float) (-0.125 / 4 + 0.375 + 0.5);
        assertArrayEquals(new float[] {0, 0, 1 - inside, 0.5f, inside, 1, 1}, y.value().toFloatArray(), 1e-7f);
        y.backward(Tensor.full(1f, 7));
        // S'(t) = 3/4 - 3t^2/4 inside, exactly 0 at and beyond the edges.
        assertArrayEquals(new float[] {0, 0, 0.5625f, 0.75f, 0.5625f, 0, 0}, x.grad().toFloatArray(), 1e-7f);
        assertEquals(0f, y.value().get(0));
        assertEquals(1f, y.value().get(6));
    }

    @Test
    void gradcheckAcrossTheBandAndBeyond() {
        Rng rng = new Rng(3);
        for (int[] shape : new int[][] {{1}, {5, 7}, {2, 3, 17}}) {
            // standard normal values: part inside the band, part saturated
            Tensor x = TestData.randn64(rng, shape);
            check("smoothStep", v -> SmoothStep.smoothStep(v[0], 1.0), x);
            check("smoothStep wide", v -> SmoothStep.smoothStep(v[0], 3.0), x);
        }
        // a strided input
        Tensor wide = TestData.randn64(rng, 4, 6).transpose(0, 1);
        check("smoothStep strided", v -> SmoothStep.smoothStep(v[0], 2.0), wide.contiguous());
        Variable strided = Variable.parameter(TestData.randn(rng, 4, 6));
        Variable t = Shaping.transpose(strided, 0, 1);
        float[] direct = SmoothStep.smoothStep(Shaping.contiguous(t), 2.0).value().toFloatArray();
        assertArrayEquals(direct, SmoothStep.smoothStep(t, 2.0).value().toFloatArray());
    }

    @Test
    void gammaMustBePositive() {
        Moe4jException e = assertThrows(Moe4jException.class,
                () -> SmoothStep.smoothStep(Variable.constant(Tensor.zeros(2)), 0));
        assertTrue(e.getMessage().contains("smoothStep"), e.getMessage());
    }
}
