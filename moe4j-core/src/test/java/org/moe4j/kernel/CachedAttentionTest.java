package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moe4j.testing.TestData.assertClose;
import static org.moe4j.testing.TestData.randn;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;

class CachedAttentionTest {
    private final Rng rng = new Rng(5);

    /** {T, H, D, S, KVH, capacity}: decode (T = 1), prefill (T = S), a block after a prefix, odd head widths. */
    private static final int[][] CASES = {
        {1, 4, 64, 9, 2, 16}, {5, 4, 16, 5, 4, 5}, {3, 6, 17, 10, 3, 12}, {1, 2, 3, 1, 1, 4}, {7, 8, 33, 20, 2, 20},
    };

    @Test
    void fastMatchesReference() {
        for (int[] c : CASES) {
            float[] q = randn(rng, c[0], c[1], c[2]).toFloatArray();
            float[] k = randn(rng, c[5], c[4], c[2]).toFloatArray();
            float[] v = randn(rng, c[5], c[4], c[2]).toFloatArray();
            float[] fast = new float[c[0] * c[1] * c[2]], ref = new float[fast.length];
            CachedAttention.forward(q, c[0], c[1], c[2], k, v, c[3], c[4], 0.3f, fast);
            CachedAttention.forwardReference(q, c[0], c[1], c[2], k, v, c[3], c[4], 0.3f, ref);
            assertClose(toDoubles(ref), toDoubles(fast), 1e-5, 1e-4);
        }
    }

    /** The same as the training attention op with the key/value heads repeated and the queries at the end. */
    @Test
    void equalsCausalAttentionOverRepeatedHeads() {
        int t = 3, h = 4, d = 8, s = 7, kvh = 2;
        Tensor q = randn(rng, t, h, d), k = randn(rng, s, kvh, d), v = randn(rng, s, kvh, d);
        float[] out = new float[t * h * d];
        CachedAttention.forward(q.toFloatArray(), t, h, d, k.toFloatArray(), v.toFloatArray(), s, kvh, 0.5f, out);
        Tensor qh = q.permute(1, 0, 2).unsqueeze(0); // [1, H, T, D]
        Tensor kh = repeat(k, h / kvh), vh = repeat(v, h / kvh);
        Tensor expected = AttentionKernels.forwardReference(qh, kh, vh, null, true, 0.5).out(); // [1, H, T, D]
        assertClose(expected.squeeze(0).permute(1, 0, 2).contiguous(), Tensor.of(out, t, h, d), 1e-5, 1e-4);
    }

    /** [S, KVH, D] to [1, KVH * rep, S, D], kv head g serving query heads g * rep .. g * rep + rep - 1. */
    private static Tensor repeat(Tensor kv, int rep) {
        int s = kv.dim(0), kvh = kv.dim(1), d = kv.dim(2);
        return kv.permute(1, 0, 2).unsqueeze(1).expand(kvh, rep, s, d).reshape(1, kvh * rep, s, d);
    }

    @Test
    void aRowIsComputedTheSameWhateverElseIsInTheCall() {
        int h = 4, d = 16, s = 12, kvh = 2;
        float[] q = randn(rng, s, h, d).toFloatArray();
        float[] k = randn(rng, s, kvh, d).toFloatArray(), v = randn(rng, s, kvh, d).toFloatArray();
        float[] prefill = new float[s * h * d];
        CachedAttention.forward(q, s, h, d, k, v, s, kvh, 0.25f, prefill);
        float[] last = new float[h * d];
        CachedAttention.forward(java.util.Arrays.copyOfRange(q, (s - 1) * h * d, s * h * d), 1, h, d, k, v, s, kvh,
                0.25f, last);
        assertArrayEquals(java.util.Arrays.copyOfRange(prefill, (s - 1) * h * d, s * h * d), last, 0f,
                "the decode of the last position equals its row of the prefill, bit for bit");
    }

    @Test
    void misuseNamesTheOp() {
        float[] a = new float[64];
        ShapeException heads = assertThrows(ShapeException.class,
                () -> CachedAttention.forward(a, 1, 3, 4, a, a, 2, 2, 1f, a));
        assertTrue(heads.getMessage().startsWith("cachedAttention:"), heads.getMessage());
        assertThrows(ShapeException.class, () -> CachedAttention.forward(a, 3, 1, 4, a, a, 2, 1, 1f, a));
        assertThrows(ShapeException.class, () -> CachedAttention.forward(a, 1, 1, 4, a, a, 17, 1, 1f, a));
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
