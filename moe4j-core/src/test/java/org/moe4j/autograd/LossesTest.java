package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.autograd.ArithTest.check;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class LossesTest {
    @Test
    void softmaxAndLogSoftmaxPassGradcheckOnEveryAxis() {
        Rng rng = new Rng(71);
        Tensor x = TestData.randn64(rng, 3, 4, 7);
        for (int axis : new int[] {0, 1, 2, -1}) {
            check("softmax " + axis, v -> Losses.softmax(v[0], axis), x);
            check("logSoftmax " + axis, v -> Losses.logSoftmax(v[0], axis), x);
        }
        check("softmax of 1", v -> Losses.softmax(v[0], 0), TestData.randn64(rng, 1));
        check("softmax 33", v -> Losses.softmax(v[0], 0), TestData.randn64(rng, 33));
    }

    @Test
    void crossEntropyPassesGradcheckWithIgnoredTargetsAndAnyRank() {
        Rng rng = new Rng(72);
        IntTensor flat = IntTensor.of(3, 0, -100, 6, 6);
        check("crossEntropy [5, 7]", v -> Losses.crossEntropy(v[0], flat), TestData.randn64(rng, 5, 7));
        IntTensor nested = new IntTensor(new int[] {0, 16, 2, 5, 9, 1}, new int[] {2, 3});
        check("crossEntropy [2, 3, 17]", v -> Losses.crossEntropy(v[0], nested, 9), TestData.randn64(rng, 2, 3, 17));
        check("crossEntropy [1]", v -> Losses.crossEntropy(v[0], new IntTensor(new int[] {0}, new int[0])),
                TestData.randn64(rng, 1));
    }

    @Test
    void crossEntropyOfUniformLogitsIsLogCAndItsGradientIsSoftmaxMinusOneHot() {
        Variable logits = Variable.parameter(Tensor.zeros(2, 4));
        Variable loss = Losses.crossEntropy(logits, IntTensor.of(1, 3));
        assertEquals(Math.log(4), loss.value().item(), 1e-6);
        assertEquals(0, loss.rank());
        loss.backward();
        float q = 0.25f / 2;
        assertArrayEquals(new float[] {q, q - 0.5f, q, q, q, q, q, q - 0.5f}, logits.grad().toFloatArray(), 1e-7f);
    }

    @Test
    void allIgnoredGivesZeroLossAndZeroGradient() {
        Variable logits = Variable.parameter(TestData.randn(new Rng(73), 3, 5));
        Variable loss = Losses.crossEntropy(logits, IntTensor.of(-100, -100, -100));
        assertEquals(0, loss.value().item());
        loss.backward();
        assertArrayEquals(new float[15], logits.grad().toFloatArray());
    }

    @Test
    void float32AgreesWithFloat64() {
        Rng rng = new Rng(74);
        Tensor x = Tensor.of(TestData.randn(rng, 6, 33).toFloatArray(), 6, 33);
        IntTensor t = IntTensor.of(0, 32, 5, -100, 17, 16);
        Variable a = Variable.parameter(x);
        Variable b = Variable.parameter(x.to(DType.F64));
        Variable la = Losses.crossEntropy(a, t);
        Variable lb = Losses.crossEntropy(b, t);
        assertEquals(lb.value().item(), la.value().item(), 1e-5);
        la.backward();
        lb.backward();
        TestData.assertClose(b.grad(), a.grad(), 1e-7, 1e-4);
        Tensor seed = TestData.randn(rng, 6, 33);
        Variable c = Variable.parameter(x);
        Variable d = Variable.parameter(x.to(DType.F64));
        Losses.softmax(c, 0).backward(seed);
        Losses.softmax(d, 0).backward(seed.to(DType.F64));
        TestData.assertClose(d.grad(), c.grad(), 1e-6, 1e-4);
    }

    @Test
    void outOfRangeTargetNamesTheOpAndValues() {
        Variable logits = Variable.parameter(Tensor.zeros(2, 3));
        Moe4jException e = assertThrows(Moe4jException.class, () -> Losses.crossEntropy(logits, IntTensor.of(0, 3)));
        assertTrue(e.getMessage().contains("crossEntropy") && e.getMessage().contains("target 3"), e.getMessage());
    }
}
