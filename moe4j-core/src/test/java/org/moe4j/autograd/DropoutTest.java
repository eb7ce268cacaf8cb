package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class DropoutTest {
    @Test
    void sameRngStateGivesTheSameMaskAndTheStreamMovesOn() {
        Variable x = Variable.constant(TestData.randn(new Rng(1), 8, 37));
        float[] a = Dropout.dropout(x, 0.5, new Rng(7), true).value().toFloatArray();
        float[] b = Dropout.dropout(x, 0.5, new Rng(7), true).value().toFloatArray();
        assertArrayEquals(a, b);
        Rng rng = new Rng(7);
        float[] first = Dropout.dropout(x, 0.5, rng, true).value().toFloatArray();
        float[] second = Dropout.dropout(x, 0.5, rng, true).value().toFloatArray();
        assertArrayEquals(a, first);
        assertFalse(Arrays.equals(first, second));
    }

    @Test
    void keptElementsAreScaledSoTheExpectationIsX() {
        int n = 100_000;
        Variable ones = Variable.constant(Tensor.full(1f, n));
        float[] y = Dropout.dropout(ones, 0.25, new Rng(3), true).value().toFloatArray();
        double sum = 0;
        int zeros = 0;
        for (float v : y) {
            assertTrue(v == 0f || Math.abs(v - 1 / 0.75f) < 1e-6, "value " + v);
            zeros += v == 0f ? 1 : 0;
            sum += v;
        }
        assertEquals(0.25, zeros / (double) n, 0.01);
        assertEquals(1.0, sum / n, 0.015);
    }

    @Test
    void backwardUsesTheForwardMask() {
        Variable x = Variable.parameter(TestData.randn(new Rng(2), 5, 33));
        Variable y = Dropout.dropout(x, 0.4, new Rng(9), true);
        y.backward(Tensor.full(1f, 5, 33));
        float[] out = y.value().toFloatArray();
        float[] g = x.grad().toFloatArray();
        for (int i = 0; i < out.length; i++) assertEquals(out[i] == 0f ? 0f : 1 / 0.6f, g[i], 1e-6, "element " + i);
        GradCheck.Result r = GradCheck.check(v -> Dropout.dropout(v[0], 0.3, new Rng(4), true),
                TestData.randn64(new Rng(5), 4, 19));
        assertTrue(r.passed(), r.toString());
    }

    @Test
    void zeroPOrEvaluationIsTheIdentity() {
        Variable x = Variable.parameter(Tensor.zeros(3));
        assertSame(x, Dropout.dropout(x, 0, new Rng(1), true));
        assertSame(x, Dropout.dropout(x, 0.5, new Rng(1), false));
        assertSame(x, Dropout.dropout(x, 0.5, null, false));
    }

    @Test
    void pOutsideTheUnitIntervalIsAnError() {
        Variable x = Variable.parameter(Tensor.zeros(3));
        for (double p : new double[] {1, -0.1, 1.5, Double.NaN}) {
            var e = assertThrows(Moe4jException.class, () -> Dropout.dropout(x, p, new Rng(1), true));
            assertTrue(e.getMessage().startsWith("dropout:") && e.getMessage().contains("[0, 1)"), e.getMessage());
        }
        assertThrows(Moe4jException.class, () -> Dropout.dropout(x, 2, new Rng(1), false));
    }
}
