package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.moe4j.autograd.ArithTest.check;

import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.kernel.Elementwise;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class ActivationsTest {
    private static final Map<String, UnaryOperator<Variable>> ANY_INPUT = Map.ofEntries(
            Map.entry("exp", Activations::exp), Map.entry("abs", Activations::abs),
            Map.entry("clamp", x -> Activations.clamp(x, -0.5, 0.7)), Map.entry("relu", Activations::relu),
            Map.entry("gelu", Activations::gelu), Map.entry("geluTanh", Activations::geluTanh),
            Map.entry("silu", Activations::silu), Map.entry("sigmoid", Activations::sigmoid),
            Map.entry("tanh", Activations::tanh), Map.entry("softplus", Activations::softplus),
            Map.entry("softplus beta 2", x -> Activations.softplus(x, 2, 20)));
    private static final Map<String, UnaryOperator<Variable>> POSITIVE_INPUT = Map.of(
            "log", Activations::log, "sqrt", Activations::sqrt, "rsqrt", Activations::rsqrt);

    @Test
    void everyActivationPassesGradcheck() {
        Rng rng = new Rng(51);
        for (int[] shape : new int[][] {{1}, {7}, {3, 17}, {33}}) {
            // spread out so that the tails (gelu's erfc, softplus's linear part) are exercised
            Tensor x = Elementwise.map(Elementwise.Fn.AFFINE, TestData.randn64(rng, shape), 3, 0);
            Tensor positive = Elementwise.map(Elementwise.Fn.AFFINE, Elementwise.map(Elementwise.Fn.ABS, x), 1, 0.2);
            ANY_INPUT.forEach((name, f) -> check(name + " " + java.util.Arrays.toString(shape), v -> f.apply(v[0]), x));
            POSITIVE_INPUT.forEach((name, f) -> check(name, v -> f.apply(v[0]), positive));
        }
    }

    @Test
    void float32GradientsAgreeWithFloat64() {
        Rng rng = new Rng(52);
        Tensor x = Elementwise.map(Elementwise.Fn.AFFINE, TestData.randn(rng, 5, 33), 3, 0);
        Tensor positive = Elementwise.map(Elementwise.Fn.AFFINE, Elementwise.map(Elementwise.Fn.ABS, x), 1, 0.2);
        ANY_INPUT.forEach((name, f) -> compare(name, f, x));
        POSITIVE_INPUT.forEach((name, f) -> compare(name, f, positive));
    }

    @Test
    void closedForms() {
        Variable x = Variable.parameter(Tensor.of(new float[] {-1, 0, 2}, 3));
        Variable y = Activations.relu(x);
        assertArrayEquals(new float[] {0, 0, 2}, y.value().toFloatArray());
        Reductions.sum(y).backward();
        assertArrayEquals(new float[] {0, 0, 1}, x.grad().toFloatArray());
        assertEquals(Math.log1p(Math.exp(2)), Activations.softplus(x).value().get(2), 1e-6);
        assertEquals(2 * (1 / (1 + Math.exp(-2))), Activations.silu(x).value().get(2), 1e-6);
        assertEquals("gelu", Activations.gelu(x).op());
    }

    private static void compare(String name, UnaryOperator<Variable> f, Tensor x) {
        Variable a = Variable.parameter(x);
        Variable b = Variable.parameter(x.to(DType.F64));
        Tensor seed = TestData.randn(new Rng(53), x.shape());
        f.apply(a).backward(seed);
        f.apply(b).backward(seed.to(DType.F64));
        TestData.assertClose(b.grad(), a.grad(), 1e-5, 1e-4);
    }
}
