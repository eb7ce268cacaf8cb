package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/** Gradients of matmul (2-d, batched, broadcast) and linear, by float64 finite differences. */
class LinearAlgebraTest {
    private final Rng rng = new Rng(31);

    private static void assertGradcheck(java.util.function.Function<Variable[], Variable> f, Tensor... inputs) {
        GradCheck.Result r = GradCheck.check(f, inputs);
        assertTrue(r.passed(), r.toString());
    }

    @Test
    void matmulGradients() {
        assertGradcheck(v -> LinearAlgebra.matmul(v[0], v[1]), TestData.randn64(rng, 3, 5), TestData.randn64(rng, 5, 4));
        assertGradcheck(v -> LinearAlgebra.matmul(v[0], v[1]),
                TestData.randn64(rng, 2, 3, 4), TestData.randn64(rng, 2, 4, 17));
        // Broadcast batch axes: the gradient of the broadcast operand sums over them.
        assertGradcheck(v -> LinearAlgebra.matmul(v[0], v[1]),
                TestData.randn64(rng, 2, 1, 3, 4), TestData.randn64(rng, 3, 4, 2));
        assertGradcheck(v -> LinearAlgebra.matmul(v[0], v[1]),
                TestData.randn64(rng, 2, 3, 5), TestData.randn64(rng, 5, 3));
        assertGradcheck(v -> LinearAlgebra.matmul(v[0], v[1]),
                TestData.randn64(rng, 4, 2), TestData.randn64(rng, 3, 2, 3));
    }

    @Test
    void linearGradients() {
        assertGradcheck(v -> LinearAlgebra.linear(v[0], v[1], v[2]),
                TestData.randn64(rng, 2, 3, 5), TestData.randn64(rng, 4, 5), TestData.randn64(rng, 4));
        assertGradcheck(v -> LinearAlgebra.linear(v[0], v[1], null),
                TestData.randn64(rng, 6, 17), TestData.randn64(rng, 3, 17));
        assertGradcheck(v -> LinearAlgebra.linear(v[0], v[1], v[2]),
                TestData.randn64(rng, 5), TestData.randn64(rng, 2, 5), TestData.randn64(rng, 2));
    }

    @Test
    void floatGradientsMatchDoubleOnes() {
        // The F32 backward takes the fast GEMM (transposed operands read in place); it must agree with F64.
        Tensor x = TestData.randn(rng, 4, 30, 40);
        Tensor w = TestData.randn(rng, 50, 40);
        Tensor b = TestData.randn(rng, 50);
        Tensor seed = TestData.randn(rng, 4, 30, 50);
        Variable[] f32 = {Variable.parameter(x), Variable.parameter(w), Variable.parameter(b)};
        LinearAlgebra.linear(f32[0], f32[1], f32[2]).backward(seed);
        Variable[] f64 = {Variable.parameter(x.to(org.moe4j.tensor.DType.F64)),
            Variable.parameter(w.to(org.moe4j.tensor.DType.F64)), Variable.parameter(b.to(org.moe4j.tensor.DType.F64))};
        LinearAlgebra.linear(f64[0], f64[1], f64[2]).backward(seed.to(org.moe4j.tensor.DType.F64));
        for (int i = 0; i < 3; i++) TestData.assertClose(f64[i].grad(), f32[i].grad(), 1e-3, 1e-4);

        Variable a = Variable.parameter(TestData.randn(rng, 3, 20, 30));
        Variable c = Variable.parameter(TestData.randn(rng, 30, 25));
        Tensor s = TestData.randn(rng, 3, 20, 25);
        LinearAlgebra.matmul(a, c).backward(s);
        Variable a64 = Variable.parameter(a.value().to(org.moe4j.tensor.DType.F64));
        Variable c64 = Variable.parameter(c.value().to(org.moe4j.tensor.DType.F64));
        LinearAlgebra.matmul(a64, c64).backward(s.to(org.moe4j.tensor.DType.F64));
        TestData.assertClose(a64.grad(), a.grad(), 1e-3, 1e-4);
        TestData.assertClose(c64.grad(), c.grad(), 1e-3, 1e-4);
    }

    @Test
    void constantsGetNoGradient() {
        Variable x = Variable.constant(TestData.randn(rng, 2, 3));
        Variable w = Variable.parameter(TestData.randn(rng, 4, 3));
        Variable y = LinearAlgebra.linear(x, w, null);
        assertArrayEquals(new int[] {2, 4}, y.shape());
        y.backward(Tensor.full(1f, 2, 4));
        assertNull(x.grad());
        assertArrayEquals(new int[] {4, 3}, w.grad().shape());
    }

    @Test
    void misuseNamesTheOp() {
        Variable a = Variable.parameter(Tensor.zeros(2, 3));
        Variable b = Variable.parameter(Tensor.zeros(4, 2));
        ShapeException mm = assertThrows(ShapeException.class, () -> LinearAlgebra.matmul(a, b));
        assertTrue(mm.getMessage().startsWith("matmul:"), mm.getMessage());
        ShapeException lin = assertThrows(ShapeException.class, () -> LinearAlgebra.linear(a, b, null));
        assertTrue(lin.getMessage().startsWith("linear:") && lin.getMessage().contains("[2, 3]"), lin.getMessage());
    }
}
