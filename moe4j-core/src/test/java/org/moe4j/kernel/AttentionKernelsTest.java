package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.testing.TestData.assertClose;
import static org.moe4j.testing.TestData.randn;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;

class AttentionKernelsTest {
    private final Rng rng = new Rng(3);

    /** {B, H, T, S, D, Dv}: T != S both ways, sizes off the vector width, a single key, a single query. */
    private static final int[][] CASES = {
        {2, 3, 5, 7, 4, 3},
        {1, 2, 9, 9, 17, 5},
        {2, 1, 6, 3, 8, 8}, // T > S: under causal masking the first three rows see no key
        {3, 2, 1, 11, 6, 2},
        {1, 1, 4, 1, 3, 19},
    };

    /** Masks of several broadcast shapes for a call with the given sizes. */
    private Tensor[] masks(int[] c) {
        return new Tensor[] {
            null,
            randn(rng, c[0], c[1], c[2], c[3]),
            randn(rng, c[2], c[3]),
            randn(rng, c[0], 1, 1, c[3]),
            randn(rng, c[1], c[2], 1).expand(c[1], c[2], c[3]), // a zero-stride view
        };
    }

    @Test
    void fastMatchesReference() {
        for (int[] c : CASES) {
            Tensor q = randn(rng, c[0], c[1], c[2], c[4]);
            Tensor k = randn(rng, c[0], c[1], c[3], c[4]);
            Tensor v = randn(rng, c[0], c[1], c[3], c[5]);
            for (Tensor mask : masks(c)) {
                for (boolean causal : new boolean[] {false, true}) {
                    double scale = 0.7;
                    AttentionKernels.Forward fast = AttentionKernels.forward(q, k, v, mask, causal, scale);
                    AttentionKernels.Forward ref = AttentionKernels.forwardReference(q, k, v, mask, causal, scale);
                    assertClose(ref.out(), fast.out(), 1e-5, 1e-4);
                    assertSameLogSumExp(ref.logSumExp(), fast.logSumExp());
                    Tensor g = randn(rng, fast.out().shape());
                    boolean maskGrad = mask != null;
                    AttentionKernels.Grads gf = AttentionKernels.backward(g, q, k, v, mask, causal, scale,
                            fast.logSumExp(), maskGrad);
                    AttentionKernels.Grads gr = AttentionKernels.backwardReference(g, q, k, v, mask, causal, scale,
                            ref.logSumExp(), maskGrad);
                    assertClose(gr.q(), gf.q(), 1e-4, 1e-3);
                    assertClose(gr.k(), gf.k(), 1e-4, 1e-3);
                    assertClose(gr.v(), gf.v(), 1e-4, 1e-3);
                    if (maskGrad) {
                        assertArrayEquals(mask.shape(), gf.mask().shape());
                        assertClose(gr.mask(), gf.mask(), 1e-4, 1e-3);
                    } else {
                        assertNull(gf.mask());
                    }
                }
            }
        }
    }

    /** Close where finite; +infinity (a row with no visible key) in exactly the same places. */
    private static void assertSameLogSumExp(Tensor expected, Tensor actual) {
        double[] e = expected.toDoubleArray();
        double[] a = actual.toDoubleArray();
        for (int i = 0; i < e.length; i++) {
            assertEquals(Double.isInfinite(e[i]), Double.isInfinite(a[i]), "row " + i + ": " + e[i] + " vs " + a[i]);
            if (Double.isInfinite(e[i])) {
                assertEquals(e[i], a[i]);
                e[i] = 0;
                a[i] = 0;
            }
        }
        assertClose(e, a, 1e-5, 1e-5);
    }

    @Test
    void fastPathAcceptsStridedViews() {
        // q, k, v laid out [B, T, H, D] as a model produces them, viewed as [B, H, T, D].
        Tensor q = randn(rng, 2, 5, 3, 4).transpose(1, 2);
        Tensor k = randn(rng, 2, 6, 3, 4).transpose(1, 2);
        Tensor v = randn(rng, 2, 6, 3, 7).transpose(1, 2);
        AttentionKernels.Forward fast = AttentionKernels.forward(q, k, v, null, true, 0.5);
        AttentionKernels.Forward ref = AttentionKernels.forwardReference(q.copy(), k.copy(), v.copy(), null, true, 0.5);
        assertClose(ref.out(), fast.out(), 1e-5, 1e-4);
        Tensor g = randn(rng, 2, 5, 3, 7).transpose(1, 2);
        AttentionKernels.Grads gf = AttentionKernels.backward(g, q, k, v, null, true, 0.5, fast.logSumExp(), false);
        AttentionKernels.Grads gr = AttentionKernels.backwardReference(g.copy(), q.copy(), k.copy(), v.copy(), null,
                true, 0.5, ref.logSumExp(), false);
        assertClose(gr.q(), gf.q(), 1e-4, 1e-3);
        assertClose(gr.k(), gf.k(), 1e-4, 1e-3);
        assertClose(gr.v(), gf.v(), 1e-4, 1e-3);
    }

    @Test
    void oneKeyReturnsItsValue() {
        Tensor q = randn(rng, 2, 2, 5, 3);
        Tensor k = randn(rng, 2, 2, 1, 3);
        Tensor v = randn(rng, 2, 2, 1, 4);
        Tensor out = AttentionKernels.forward(q, k, v, null, false, 1.0).out();
        assertClose(v.expand(2, 2, 5, 4).copy(), out, 1e-6, 1e-6);
        assertClose(v.expand(2, 2, 5, 4).copy(), AttentionKernels.forwardReference(q, k, v, null, false, 1.0).out(),
                1e-6, 1e-6);
    }

    @Test
    void causalFirstRowSeesOnlyTheFirstKey() {
        Tensor q = randn(rng, 1, 2, 4, 3);
        Tensor k = randn(rng, 1, 2, 4, 3);
        Tensor v = randn(rng, 1, 2, 4, 5);
        Tensor out = AttentionKernels.forward(q, k, v, null, true, 0.5).out();
        assertClose(v.narrow(2, 0, 1).copy(), out.narrow(2, 0, 1).copy(), 1e-6, 1e-6);
        // The second row differs from the first key's value: it does see two keys.
        assertTrue(Math.abs(out.get(0, 0, 1, 0) - v.get(0, 0, 0, 0)) > 1e-6);
    }

    @Test
    void causalQueryBlockAtTheEndOfTheKeysMatchesTheFullSequence() {
        // KV-cache decoding: the last 3 queries of a 7-token causal pass, run alone against all 7 keys.
        Tensor q = randn(rng, 1, 2, 7, 4);
        Tensor k = randn(rng, 1, 2, 7, 4);
        Tensor v = randn(rng, 1, 2, 7, 3);
        Tensor full = AttentionKernels.forward(q, k, v, null, true, 0.5).out();
        Tensor tail = AttentionKernels.forward(q.narrow(2, 4, 3), k, v, null, true, 0.5).out();
        assertClose(full.narrow(2, 4, 3).copy(), tail, 1e-6, 1e-6);
        // One query at the end sees every key: causal changes nothing.
        Tensor last = q.narrow(2, 6, 1);
        assertClose(AttentionKernels.forward(last, k, v, null, false, 0.5).out(),
                AttentionKernels.forward(last, k, v, null, true, 0.5).out(), 0, 0);
    }

    @Test
    void causalMaskEqualsAnAdditiveMinusInfinityMask() {
        Tensor q = randn(rng, 2, 1, 3, 4);
        Tensor k = randn(rng, 2, 1, 5, 4);
        Tensor v = randn(rng, 2, 1, 5, 2);
        Tensor mask = Tensor.zeros(3, 5);
        for (int i = 0; i < 3; i++) {
            for (int j = i + 5 - 3 + 1; j < 5; j++) mask.set(Double.NEGATIVE_INFINITY, i, j);
        }
        assertClose(AttentionKernels.forward(q, k, v, null, true, 0.5).out(),
                AttentionKernels.forward(q, k, v, mask, false, 0.5).out(), 1e-6, 1e-6);
    }

    @Test
    void fullyMaskedRowsGiveZerosNotNaN() {
        Tensor q = randn(rng, 1, 1, 4, 3);
        Tensor k = randn(rng, 1, 1, 2, 3);
        Tensor v = randn(rng, 1, 1, 2, 3);
        Tensor mask = Tensor.zeros(4, 2);
        mask.set(Double.NEGATIVE_INFINITY, 3, 0);
        mask.set(Double.NEGATIVE_INFINITY, 3, 1);
        // Causal with T = 4 > S = 2: rows 0 and 1 see no key; row 3 is masked out entirely by the mask.
        for (boolean fast : new boolean[] {true, false}) {
            AttentionKernels.Forward f = fast ? AttentionKernels.forward(q, k, v, mask, true, 1.0)
                    : AttentionKernels.forwardReference(q, k, v, mask, true, 1.0);
            float[] out = f.out().toFloatArray();
            for (int i = 0; i < out.length; i++) assertTrue(Float.isFinite(out[i]), "element " + i + " is " + out[i]);
            for (int row : new int[] {0, 1, 3}) {
                for (int e = 0; e < 3; e++) assertEquals(0f, f.out().get(0, 0, row, e));
            }
            assertEquals(v.get(0, 0, 0, 1), f.out().get(0, 0, 2, 1), 1e-6); // row 2 sees key 0 only
            Tensor g = Tensor.full(1f, 1, 1, 4, 3);
            AttentionKernels.Grads grads = fast ? AttentionKernels.backward(g, q, k, v, mask, true, 1.0, f.logSumExp(), true)
                    : AttentionKernels.backwardReference(g, q, k, v, mask, true, 1.0, f.logSumExp(), true);
            for (Tensor t : new Tensor[] {grads.q(), grads.k(), grads.v(), grads.mask()}) {
                for (float x : t.toFloatArray()) assertTrue(Float.isFinite(x), "gradient not finite: " + t);
            }
            for (int c = 0; c < 3; c++) assertEquals(0f, grads.q().get(0, 0, 0, c));
        }
    }

    @Test
    void misuseNamesTheOpAndShapes() {
        Tensor q = Tensor.zeros(1, 2, 3, 4);
        Tensor k = Tensor.zeros(1, 2, 5, 4);
        Tensor v = Tensor.zeros(1, 2, 5, 6);
        var headDim = assertThrows(ShapeException.class,
                () -> AttentionKernels.forward(q, Tensor.zeros(1, 2, 5, 8), v, null, false, 1));
        assertTrue(headDim.getMessage().startsWith("scaledDotProductAttention:")
                && headDim.getMessage().contains("[1, 2, 3, 4]") && headDim.getMessage().contains("[1, 2, 5, 8]"),
                headDim.getMessage());
        var keys = assertThrows(ShapeException.class,
                () -> AttentionKernels.forward(q, k, Tensor.zeros(1, 2, 4, 6), null, false, 1));
        assertTrue(keys.getMessage().contains("key counts") && keys.getMessage().contains("[1, 2, 4, 6]"),
                keys.getMessage());
        var heads = assertThrows(ShapeException.class,
                () -> AttentionKernels.forward(q, Tensor.zeros(1, 1, 5, 4), Tensor.zeros(1, 1, 5, 6), null, false, 1));
        assertTrue(heads.getMessage().contains("head count"), heads.getMessage());
        var mask = assertThrows(ShapeException.class,
                () -> AttentionKernels.forward(q, k, v, Tensor.zeros(3, 4), false, 1));
        assertTrue(mask.getMessage().contains("mask") && mask.getMessage().contains("[3, 4]")
                && mask.getMessage().contains("[1, 2, 3, 5]"), mask.getMessage());
        var rank = assertThrows(ShapeException.class, () -> AttentionKernels.forward(Tensor.zeros(2, 3, 4), k, v, null,
                false, 1));
        assertTrue(rank.getMessage().contains("scaledDotProductAttention") && rank.getMessage().contains("[2, 3, 4]"),
                rank.getMessage());
    }
}
