package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.Tensor;

/** The engine itself, with a tiny hand-written op so it does not depend on any op family. */
class VariableTest {
    /** y = x * c elementwise for a constant c; backward passes gradOutput * c. */
    private static Variable scale(Variable x, float c) {
        float[] in = x.value().toFloatArray();
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) out[i] = in[i] * c;
        return Variable.result("scale", Tensor.of(out, x.shape()), g -> {
            float[] gi = g.toFloatArray();
            for (int i = 0; i < gi.length; i++) gi[i] *= c;
            return new Tensor[] {Tensor.of(gi, x.shape())};
        }, x);
    }

    /** y = sum(x). */
    private static Variable sum(Variable x) {
        float s = 0;
        for (float v : x.value().toFloatArray()) s += v;
        return Variable.result("sum", Tensor.scalar(s), g -> new Tensor[] {
                Tensor.full((float) g.item(), x.shape())}, x);
    }

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        Variable x = Variable.parameter(Tensor.of(new float[] {1, 2, 3}, 3));
        Variable a = scale(x, 2);
        Variable b = scale(x, 5);
        Variable loss = sum(scale(sum(a), 1));
        loss.backward();
        assertArrayEquals(new float[] {2, 2, 2}, x.grad().toFloatArray());
        // a second backward through another path adds to the leaf gradient
        sum(b).backward();
        assertArrayEquals(new float[] {7, 7, 7}, x.grad().toFloatArray());
        x.zeroGrad();
        assertNull(x.grad());
    }

    @Test
    void intermediateGradientsAreDroppedUnlessRetained() {
        Variable x = Variable.parameter(Tensor.of(new float[] {1, 2}, 2));
        Variable kept = scale(x, 3).retainGrad();
        Variable dropped = scale(kept, 2);
        sum(dropped).backward();
        assertArrayEquals(new float[] {2, 2}, kept.grad().toFloatArray());
        assertNull(dropped.grad());
        assertArrayEquals(new float[] {6, 6}, x.grad().toFloatArray());
    }

    @Test
    void noGradScopeAndDetachCutTheGraph() {
        Variable x = Variable.parameter(Tensor.of(new float[] {1}, 1));
        try (GradMode scope = GradMode.off()) {
            assertFalse(scale(x, 2).requiresGrad());
        }
        assertTrue(scale(x, 2).requiresGrad());
        assertFalse(scale(x.detach(), 2).requiresGrad());
        assertThrows(Moe4jException.class, () -> sum(scale(x.detach(), 2)).backward());
    }

    @Test
    void backwardOfNonScalarNeedsASeed() {
        Variable x = Variable.parameter(Tensor.of(new float[] {1, 2}, 2));
        Variable y = scale(x, 4);
        assertThrows(Moe4jException.class, y::backward);
        y.backward(Tensor.of(new float[] {1, 10}, 2));
        assertArrayEquals(new float[] {4, 40}, x.grad().toFloatArray());
    }

    @Test
    void gradcheckCatchesAWrongGradientRule() {
        java.util.function.Function<Variable[], Variable> wrong = v -> {
            Variable x = v[0];
            double[] in = x.value().toDoubleArray();
            double[] out = new double[in.length];
            for (int i = 0; i < in.length; i++) out[i] = in[i] * in[i];
            return Variable.result("square", Tensor.ofDoubles(out, x.shape()), g -> {
                double[] gi = g.toDoubleArray();
                for (int i = 0; i < gi.length; i++) gi[i] *= in[i]; // missing factor 2
                return new Tensor[] {Tensor.ofDoubles(gi, x.shape())};
            }, x);
        };
        Tensor x = Tensor.ofDoubles(new double[] {0.5, -1.5, 2.0}, 3);
        assertFalse(GradCheck.check(wrong, x).passed());
    }
}
