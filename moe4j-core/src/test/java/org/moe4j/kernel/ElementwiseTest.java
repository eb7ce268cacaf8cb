package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.kernel.Elementwise.Binary;
import org.moe4j.kernel.Elementwise.Fn;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class ElementwiseTest {
    /** Each function with the parameters it is tested at: {p, q}. */
    private static final Object[][] CASES = {
        {Fn.AFFINE, 2.5, -1.0}, {Fn.EXP, 0.0, 0.0}, {Fn.LOG, 0.0, 0.0}, {Fn.SQRT, 0.0, 0.0}, {Fn.RSQRT, 0.0, 0.0},
        {Fn.ABS, 0.0, 0.0}, {Fn.RELU, 0.0, 0.0}, {Fn.GELU, 0.0, 0.0}, {Fn.GELU_TANH, 0.0, 0.0}, {Fn.SILU, 0.0, 0.0},
        {Fn.SIGMOID, 0.0, 0.0}, {Fn.TANH, 0.0, 0.0}, {Fn.SOFTPLUS, 1.0, 20.0}, {Fn.SOFTPLUS, 2.0, 1.0},
        {Fn.CLAMP, -0.5, 0.7}, {Fn.POW, 2.0, 0.0}, {Fn.POW, 3.0, 0.0}, {Fn.POW, 0.5, 0.0}, {Fn.POW, -1.5, 0.0},
        {Fn.POW, 0.0, 0.0},
    };

    @Test
    void broadcastingFastPathMatchesReferenceExactly() {
        Rng rng = new Rng(1);
        for (int trial = 0; trial < 150; trial++) {
            int rank = 1 + rng.nextInt(4);
            int[] shape = StridedInputs.randomShape(rng, rank);
            // the other operand: drop some leading axes and set some axes to 1
            int drop = rng.nextInt(rank + 1);
            int[] other = Arrays.copyOfRange(shape, drop, rank);
            for (int i = 0; i < other.length; i++) if (rng.nextInt(3) == 0) other[i] = 1;
            Tensor a = StridedInputs.anyLayout(rng, shape);
            Tensor b = StridedInputs.anyLayout(rng, other);
            if (rng.nextInt(2) == 0) {
                Tensor t = a;
                a = b;
                b = t;
            }
            for (Binary op : Binary.values()) {
                Tensor fast = Elementwise.binary(op, a, b);
                Tensor ref = Elementwise.binaryReference(op, a, b);
                assertArrayEquals(ref.shape(), fast.shape());
                assertArrayEquals(ref.toFloatArray(), fast.toFloatArray(),
                        op + " " + Arrays.toString(a.shape()) + " " + Arrays.toString(b.shape()));
            }
        }
    }

    @Test
    void broadcastsAsNumpy() {
        // [3,1,5] + [4,1] -> [3,4,5], out[i,j,k] = a[i,0,k] + b[j,0]
        Rng rng = new Rng(2);
        Tensor a = TestData.randn(rng, 3, 1, 5);
        Tensor b = TestData.randn(rng, 4, 1);
        Tensor out = Elementwise.add(a, b);
        assertArrayEquals(new int[] {3, 4, 5}, out.shape());
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 4; j++) {
                for (int k = 0; k < 5; k++) assertEquals(a.get(i, 0, k) + b.get(j, 0), out.get(i, j, k));
            }
        }
        Tensor scalar = Tensor.scalar(2f);
        assertArrayEquals(new float[] {2, 4, 6}, Elementwise.mul(Tensor.of(new float[] {1, 2, 3}, 3), scalar).toFloatArray());
        assertArrayEquals(new float[] {-1, 0, 1}, Elementwise.sub(Tensor.of(new float[] {1, 2, 3}, 3), scalar).toFloatArray());
        assertArrayEquals(new float[] {0.5f, 1, 1.5f}, Elementwise.div(Tensor.of(new float[] {1, 2, 3}, 3), scalar).toFloatArray());
    }

    @Test
    void incompatibleBroadcastNamesTheOpAndShapes() {
        ShapeException e = assertThrows(ShapeException.class, () -> Elementwise.mul(Tensor.zeros(2, 3), Tensor.zeros(4)));
        assertTrue(e.getMessage().contains("mul") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4]"),
                e.getMessage());
        ShapeException d = assertThrows(ShapeException.class,
                () -> Elementwise.add(Tensor.zeros(2), Tensor.zeros(DType.F64, 2)));
        assertTrue(d.getMessage().contains("add") && d.getMessage().contains("F64"), d.getMessage());
    }

    @Test
    void unaryFastPathMatchesReference() {
        Rng rng = new Rng(3);
        for (Object[] c : CASES) {
            Fn fn = (Fn) c[0];
            double p = (Double) c[1];
            double q = (Double) c[2];
            for (int trial = 0; trial < 12; trial++) {
                Tensor x = domain(fn, p, StridedInputs.anyLayout(rng, StridedInputs.randomShape(rng, 1 + rng.nextInt(3))));
                Tensor fast = Elementwise.map(fn, x, p, q);
                Tensor ref = Elementwise.mapReference(fn, x, p, q);
                assertClose(fn + " p=" + p, ref, fast);
            }
        }
    }

    @Test
    void unaryBackwardFastPathMatchesReference() {
        Rng rng = new Rng(4);
        for (Object[] c : CASES) {
            Fn fn = (Fn) c[0];
            double p = (Double) c[1];
            double q = (Double) c[2];
            for (int trial = 0; trial < 12; trial++) {
                int[] shape = StridedInputs.randomShape(rng, 1 + rng.nextInt(3));
                Tensor x = domain(fn, p, StridedInputs.anyLayout(rng, shape));
                Tensor y = Elementwise.mapReference(fn, x, p, q);
                Tensor g = StridedInputs.anyLayout(rng, shape);
                Tensor fast = Elementwise.mapBackward(fn, x, y, g, p, q);
                Tensor ref = Elementwise.mapBackwardReference(fn, x, y, g, p, q);
                assertClose(fn + " backward p=" + p, ref, fast);
            }
        }
    }

    @Test
    void extremeInputsStayFiniteAndMatchReference() {
        float[] xs = {-100, -50, -20, -10, -5, -1e-3f, 0, 1e-3f, 5, 10, 20, 50, 100, 1e-30f, -1e-30f, 3.4e38f, -3.4e38f};
        float[] padded = Arrays.copyOf(xs, 40); // long enough to take the vector loop
        for (int i = xs.length; i < padded.length; i++) padded[i] = xs[i % xs.length];
        Tensor x = Tensor.of(padded, padded.length);
        for (Fn fn : new Fn[] {Fn.SIGMOID, Fn.SILU, Fn.SOFTPLUS, Fn.GELU, Fn.GELU_TANH, Fn.TANH, Fn.RELU}) {
            Tensor fast = Elementwise.map(fn, x);
            Tensor ref = Elementwise.mapReference(fn, x, fn.defaultP(), fn.defaultQ());
            for (float v : fast.toFloatArray()) assertTrue(!Float.isNaN(v), fn + " gave NaN: " + fast);
            assertClose(fn + " extremes", ref, fast);
            Tensor g = Tensor.full(1f, padded.length);
            Tensor back = Elementwise.mapBackward(fn, x, fast, g, fn.defaultP(), fn.defaultQ());
            for (float v : back.toFloatArray()) assertTrue(Float.isFinite(v), fn + " backward: " + back);
        }
    }

    @Test
    void closedFormValues() {
        Tensor x = Tensor.of(new float[] {1, -2, 0, 3}, 4);
        assertEquals(0.8413447460685429, Elementwise.map(Fn.GELU, x).get(0), 2e-7);
        assertEquals(-0.045500263896358414, Elementwise.map(Fn.GELU, x).get(1), 2e-8);
        assertEquals(0.8411919906082767, Elementwise.map(Fn.GELU_TANH, x).get(0), 2e-7);
        assertEquals(Math.log(2), Elementwise.map(Fn.SOFTPLUS, x).get(2), 1e-7);
        assertEquals(0.5, Elementwise.map(Fn.SIGMOID, x).get(2));
        assertArrayEquals(new float[] {1, 0, 0, 3}, Elementwise.map(Fn.RELU, x).toFloatArray());
        assertArrayEquals(new float[] {1, -1, 0, 2}, Elementwise.map(Fn.CLAMP, x, -1, 2).toFloatArray());
        assertArrayEquals(new float[] {1, -8, 0, 27}, Elementwise.map(Fn.POW, x, 3, 0).toFloatArray());
        // F64 references
        Tensor x64 = x.to(DType.F64);
        assertEquals(0.8413447460685429, Elementwise.map(Fn.GELU, x64).getDouble(0), 1e-15);
        assertEquals(Math.tanh(3), Elementwise.map(Fn.TANH, x64).getDouble(3), 0);
    }

    @Test
    void kinksHaveThePyTorchGradients() {
        Tensor x = Tensor.of(new float[] {0, -1, 2}, 3);
        Tensor g = Tensor.full(1f, 3);
        assertArrayEquals(new float[] {0, 0, 1}, back(Fn.RELU, x, g, 0, 0));
        assertArrayEquals(new float[] {0, -1, 1}, back(Fn.ABS, x, g, 0, 0));
        // clamp passes the gradient at its bounds too
        assertArrayEquals(new float[] {1, 1, 1}, back(Fn.CLAMP, x, g, -1, 2));
        assertArrayEquals(new float[] {0, 0, 0}, back(Fn.POW, x, g, 0, 0));
    }

    @Test
    void badParametersAreRejected() {
        Moe4jException e = assertThrows(Moe4jException.class, () -> Elementwise.map(Fn.SOFTPLUS, Tensor.zeros(2), 0, 20));
        assertTrue(e.getMessage().contains("softplus"), e.getMessage());
        Moe4jException c = assertThrows(Moe4jException.class, () -> Elementwise.map(Fn.CLAMP, Tensor.zeros(2), 1, -1));
        assertTrue(c.getMessage().contains("clamp"), c.getMessage());
        assertThrows(ShapeException.class,
                () -> Elementwise.mapBackward(Fn.EXP, Tensor.zeros(2), Tensor.zeros(2), Tensor.zeros(3), 0, 0));
    }

    @Test
    void addInPlaceMatchesReferenceOnViews() {
        Rng rng = new Rng(5);
        Tensor dst = TestData.randn(rng, 7, 33);
        Tensor copy = dst.copy();
        Tensor src = StridedInputs.transposed(rng, 7, 33);
        Elementwise.addInPlace(dst, src);
        Elementwise.addInPlaceReference(copy, src);
        assertArrayEquals(copy.toFloatArray(), dst.toFloatArray());
    }

    private static float[] back(Fn fn, Tensor x, Tensor g, double p, double q) {
        Tensor y = Elementwise.map(fn, x, p, q);
        float[] fast = Elementwise.mapBackward(fn, x, y, g, p, q).toFloatArray();
        assertArrayEquals(Elementwise.mapBackwardReference(fn, x, y, g, p, q).toFloatArray(), fast);
        return fast;
    }

    /** Moves random normal inputs into the function's domain. */
    private static Tensor domain(Fn fn, double p, Tensor x) {
        boolean positive = fn == Fn.LOG || fn == Fn.SQRT || fn == Fn.RSQRT || (fn == Fn.POW && p != Math.rint(p));
        if (!positive) return x;
        Tensor out = Elementwise.map(Fn.ABS, x);
        return Elementwise.map(Fn.AFFINE, out, 1, 0.1);
    }

    private static void assertClose(String what, Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        double[] e = expected.toDoubleArray();
        double[] a = actual.toDoubleArray();
        for (int i = 0; i < e.length; i++) {
            if (Double.isNaN(e[i]) && Double.isNaN(a[i])) continue;
            if (e[i] == a[i]) continue; // infinities
            assertTrue(Math.abs(e[i] - a[i]) <= 1e-6 + 2e-6 * Math.abs(e[i]),
                    what + " element " + i + ": expected " + e[i] + " but was " + a[i]);
        }
    }
}
