package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.BinaryOperator;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.kernel.Elementwise;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class ArithTest {
    private static final int[][][] SHAPE_PAIRS = {
        {{3, 1, 5}, {4, 1}}, {{2, 3}, {3}}, {{7}, {7}}, {{17, 1}, {1, 33}}, {{}, {4}}, {{1}, {2, 3}}, {{2, 1, 3}, {2, 4, 1}},
    };

    @Test
    void broadcastingBinaryOpsPassGradcheck() {
        Rng rng = new Rng(41);
        for (int[][] pair : SHAPE_PAIRS) {
            Tensor a = TestData.randn64(rng, pair[0]);
            Tensor b = TestData.randn64(rng, pair[1]);
            Tensor bAwayFromZero = awayFromZero(b);
            check("add", v -> Arith.add(v[0], v[1]), a, b);
            check("sub", v -> Arith.sub(v[0], v[1]), a, b);
            check("mul", v -> Arith.mul(v[0], v[1]), a, b);
            check("div", v -> Arith.div(v[0], v[1]), a, bAwayFromZero);
            check("div swapped", v -> Arith.div(v[1], v[0]), awayFromZero(a), b);
        }
    }

    @Test
    void aVariableUsedTwiceGetsBothGradients() {
        Tensor x = Tensor.of(new float[] {1, -2, 3}, 3);
        Variable v = Variable.parameter(x);
        Reductions.sum(Arith.mul(v, v)).backward();
        assertArrayEquals(new float[] {2, -4, 6}, v.grad().toFloatArray());
        Variable w = Variable.parameter(x);
        Reductions.sum(Arith.add(w, w)).backward();
        assertArrayEquals(new float[] {2, 2, 2}, w.grad().toFloatArray());
    }

    @Test
    void scalarOpsAndPowPassGradcheck() {
        Rng rng = new Rng(42);
        for (int[] shape : new int[][] {{1}, {7}, {3, 17}}) {
            Tensor x = TestData.randn64(rng, shape);
            Tensor positive = Elementwise.map(Elementwise.Fn.AFFINE, Elementwise.map(Elementwise.Fn.ABS, x), 1, 0.2);
            check("neg", v -> Arith.neg(v[0]), x);
            check("addScalar", v -> Arith.addScalar(v[0], 1.5), x);
            check("subScalar", v -> Arith.subScalar(v[0], 1.5), x);
            check("rsubScalar", v -> Arith.rsubScalar(v[0], 1.5), x);
            check("mulScalar", v -> Arith.mulScalar(v[0], -3), x);
            check("divScalar", v -> Arith.divScalar(v[0], 4), x);
            check("affine", v -> Arith.affine(v[0], 2, -1), x);
            check("pow 2", v -> Arith.pow(v[0], 2), x);
            check("pow 3", v -> Arith.pow(v[0], 3), x);
            check("pow 0", v -> Arith.pow(v[0], 0), x);
            check("pow 0.5", v -> Arith.pow(v[0], 0.5), positive);
            check("pow -1.5", v -> Arith.pow(v[0], -1.5), positive);
        }
    }

    @Test
    void float32GradientsAgreeWithFloat64() {
        Rng rng = new Rng(43);
        Tensor a = TestData.randn(rng, 3, 1, 33);
        Tensor b = awayFromZero(TestData.randn(rng, 4, 1));
        for (BinaryOperator<Variable> op : java.util.List.<BinaryOperator<Variable>>of(Arith::add, Arith::sub, Arith::mul,
                Arith::div)) {
            Variable[] f32 = {Variable.parameter(a), Variable.parameter(b)};
            Variable[] f64 = {Variable.parameter(a.to(org.moe4j.tensor.DType.F64)),
                Variable.parameter(b.to(org.moe4j.tensor.DType.F64))};
            Reductions.sum(Activations.tanh(op.apply(f32[0], f32[1]))).backward();
            Reductions.sum(Activations.tanh(op.apply(f64[0], f64[1]))).backward();
            TestData.assertClose(f64[0].grad(), f32[0].grad(), 1e-5, 1e-4);
            TestData.assertClose(f64[1].grad(), f32[1].grad(), 1e-4, 1e-4);
        }
    }

    @Test
    void incompatibleShapesNameTheOp() {
        Variable a = Variable.parameter(Tensor.zeros(2, 3));
        Variable b = Variable.parameter(Tensor.zeros(2));
        ShapeException e = assertThrows(ShapeException.class, () -> Arith.sub(a, b));
        assertTrue(e.getMessage().startsWith("sub:") && e.getMessage().contains("[2, 3]"), e.getMessage());
    }

    /** Moves values away from zero (keeping their sign), so 1/x stays tame. */
    static Tensor awayFromZero(Tensor t) {
        Tensor out = t.copy();
        for (int i = 0; i < out.numel(); i++) {
            double v = out.storage().get(i);
            out.storage().set(i, v >= 0 ? v + 0.5 : v - 0.5);
        }
        return out;
    }

    static void check(String what, Function<Variable[], Variable> f, Tensor... inputs) {
        GradCheck.Result r = GradCheck.check(f, inputs);
        assertTrue(r.passed(), what + ": " + r);
    }
}
