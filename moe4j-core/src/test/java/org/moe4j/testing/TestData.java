package org.moe4j.testing;

import static org.junit.jupiter.api.Assertions.fail;

import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;

/** Random tensors and tolerant comparisons shared by the tests. */
public final class TestData {
    private TestData() {}

    /** Standard-normal F32 tensor. */
    public static Tensor randn(Rng rng, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.floats();
        for (int i = 0; i < d.length; i++) d[i] = (float) rng.normal();
        return t;
    }

    /** Standard-normal F64 tensor (for gradchecks). */
    public static Tensor randn64(Rng rng, int... shape) {
        return randn(rng, shape).to(org.moe4j.tensor.DType.F64);
    }

    /** Uniform F32 tensor in [lo, hi). */
    public static Tensor uniform(Rng rng, double lo, double hi, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.floats();
        for (int i = 0; i < d.length; i++) d[i] = (float) rng.uniform(lo, hi);
        return t;
    }

    /** Fails with the first element where {@code |e - a| > atol + rtol |e|}, naming its index and both values. */
    public static void assertClose(Tensor expected, Tensor actual, double atol, double rtol) {
        if (!expected.sameShape(actual)) {
            fail("shapes differ: " + java.util.Arrays.toString(expected.shape()) + " vs "
                    + java.util.Arrays.toString(actual.shape()));
        }
        assertClose(expected.toDoubleArray(), actual.toDoubleArray(), atol, rtol);
    }

    public static void assertClose(double[] expected, double[] actual, double atol, double rtol) {
        if (expected.length != actual.length) fail("lengths differ: " + expected.length + " vs " + actual.length);
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            if (!(Math.abs(e - a) <= atol + rtol * Math.abs(e)) && !(Double.isNaN(e) && Double.isNaN(a))) {
                fail("element " + i + ": expected " + e + " but was " + a + " (atol " + atol + ", rtol " + rtol + ")");
            }
        }
    }
}
