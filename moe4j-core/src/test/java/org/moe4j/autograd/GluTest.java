package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class GluTest {
    @Test
    void gradcheckOnOddShapes() {
        Rng rng = new Rng(1);
        for (int[] shape : new int[][] {{1}, {3, 17}, {2, 5, 7}}) {
            GradCheck.Result r = GradCheck.check(v -> Glu.swiglu(v[0], v[1]), TestData.randn64(rng, shape),
                    TestData.randn64(rng, shape));
            assertTrue(r.passed(), r.toString());
        }
    }

    @Test
    void equalsSiluTimesUpForwardAndBackward() {
        Rng rng = new Rng(2);
        Tensor g = TestData.randn(rng, 9, 33), u = TestData.randn(rng, 9, 33), seed = TestData.randn(rng, 9, 33);
        Variable g1 = Variable.parameter(g.copy()), u1 = Variable.parameter(u.copy());
        Variable fused = Glu.swiglu(g1, u1);
        fused.backward(seed);
        Variable g2 = Variable.parameter(g.copy()), u2 = Variable.parameter(u.copy());
        Variable composed = Arith.mul(Activations.silu(g2), u2);
        composed.backward(seed);
        TestData.assertClose(composed.value(), fused.value(), 1e-6, 1e-5);
        TestData.assertClose(g2.grad(), g1.grad(), 1e-6, 1e-5);
        TestData.assertClose(u2.grad(), u1.grad(), 1e-6, 1e-5);
    }

    @Test
    void onlyTheInputsThatNeedAGradientGetOne() {
        Rng rng = new Rng(3);
        Variable g = Variable.parameter(TestData.randn(rng, 4, 5));
        Variable u = Variable.constant(TestData.randn(rng, 4, 5));
        Glu.swiglu(g, u).backward(TestData.randn(rng, 4, 5));
        assertTrue(g.grad() != null && u.grad() == null);
    }

    @Test
    void mismatchedShapesNameTheOp() {
        ShapeException e = assertThrows(ShapeException.class, () -> Glu.swiglu(Variable.constant(Tensor.zeros(2, 3)),
                Variable.constant(Tensor.zeros(2, 4))));
        assertTrue(e.getMessage().contains("swiglu"), e.getMessage());
    }
}
