package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class VectorMathTest {
    @Test
    void expIsWithinTwoUlpOfMathExpAcrossTheWholeRange() {
        int n = 50_003;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (-103 + 191.7 * i / (n - 1));
        float[] out = new float[n];
        VectorMath.exp(x, 0, 0f, out, 0, n);
        double worstUlps = 0;
        for (int i = 0; i < n; i++) {
            double exact = Math.exp(x[i]);
            float want = (float) exact;
            if (want == 0 || Float.isInfinite(want)) {
                assertEquals(want, out[i], Math.ulp(Float.MIN_VALUE), "exp(" + x[i] + ")");
                continue;
            }
            worstUlps = Math.max(worstUlps, Math.abs(out[i] - exact) / Math.ulp(want));
        }
        assertTrue(worstUlps <= 2, "worst error " + worstUlps + " ulp");
    }

    @Test
    void lanesAndTheScalarTwinAgreeBitForBit() {
        Rng rng = new Rng(91);
        int n = 1001;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rng.uniform(-110, 95);
        float[] out = new float[n];
        float sum = VectorMath.exp(x, 0, 0.25f, out, 0, n);
        for (int i = 0; i < n; i++) assertEquals(VectorMath.exp(x[i] + 0.25f), out[i], 0f, "element " + i);
        assertTrue(Float.isInfinite(sum)); // some inputs overflow
        // a shifted copy puts each value in another lane or in the tail: same results
        float[] shifted = new float[n + 5];
        System.arraycopy(x, 0, shifted, 5, n);
        float[] out2 = new float[n];
        VectorMath.exp(shifted, 5, 0.25f, out2, 0, n);
        for (int i = 0; i < n; i++) assertEquals(out[i], out2[i], 0f);
    }

    @Test
    void specialValuesAndTheReturnedSum() {
        assertEquals(1f, VectorMath.exp(0f));
        assertEquals(0f, VectorMath.exp(Float.NEGATIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.exp(Float.POSITIVE_INFINITY));
        assertTrue(Float.isNaN(VectorMath.exp(Float.NaN)));
        assertEquals((float) Math.exp(-100), VectorMath.exp(-100f), Math.ulp((float) Math.exp(-100)));
        float[] zeros = new float[37];
        assertEquals(37f, VectorMath.exp(zeros, 0, 0f, null, 0, 37));
        assertEquals(37 * Math.E, VectorMath.exp(zeros, 0, 1f, null, 0, 37), 1e-4);
    }

    @Test
    void kernelResultsDoNotChangeAsTheJitWarmsUp() {
        // the first calls run interpreted, later ones compiled: the bits must not move (they did with the Vector
        // API's EXP and reduceLanes(ADD))
        Tensor x = TestData.randn(new Rng(92), 4, 1003);
        float[] softmax = SoftmaxKernels.softmax(x, -1).toFloatArray();
        float[] gelu = Elementwise.map(Elementwise.Fn.GELU, x).toFloatArray();
        float[] silu = Elementwise.map(Elementwise.Fn.SILU, x).toFloatArray();
        float[] rms = NormKernels.rmsNorm(x, null, 1e-6).output().toFloatArray();
        float sum = (float) Reduce.sum(x).item();
        for (int i = 0; i < 100; i++) {
            SoftmaxKernels.softmax(x, -1);
            Elementwise.map(Elementwise.Fn.GELU, x);
            Elementwise.map(Elementwise.Fn.SILU, x);
            NormKernels.rmsNorm(x, null, 1e-6);
            Reduce.sum(x);
        }
        assertArrayEquals(softmax, SoftmaxKernels.softmax(x, -1).toFloatArray());
        assertArrayEquals(gelu, Elementwise.map(Elementwise.Fn.GELU, x).toFloatArray());
        assertArrayEquals(silu, Elementwise.map(Elementwise.Fn.SILU, x).toFloatArray());
        assertArrayEquals(rms, NormKernels.rmsNorm(x, null, 1e-6).output().toFloatArray());
        assertEquals(sum, (float) Reduce.sum(x).item(), 0f);
    }
}
