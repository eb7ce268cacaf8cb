package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;

/**
 * The inference matrix product {@code y[m, n] = x[m, k] w[n, k]^T (+ bias[n])}: weights in PyTorch's Linear
 * layout, each output element one dot product of an x row with a weight row. This is the shape of a dense layer
 * and of an expert at decoding, where m is one token or a few and the time goes into streaming each weight row
 * once; the packed {@link Gemm} stays the training path.
 *
 * <p>Every element is computed by one fixed sequence of float operations, whatever m, n, the tiling and the
 * thread count, so a row's result is the same alone or inside any batch (batch invariance). With L the lanes of
 * {@link Backend#FLOATS} and {@code K = k - k % L}: lane {@code l} sums {@code acc_l = fma(x[p], w[p], acc_l)}
 * from +0 over {@code p = l, l + L, ... < K} in order; the lanes are added as a fixed tree, {@code acc_i += acc_(i
 * + h)} for h = L/2, L/4, .., 1; then {@code s = fma(x[p], w[p], s)} for the tail p in [K, k) in order; finally
 * {@code y = s + bias[j]} when there is a bias. {@link #reference} is that definition in scalar code, and is
 * what the scalar backend runs. Quantized weight formats follow the same per-element pattern.
 */
public final class DotGemm {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int L = S.length();
    /** Weight rows per narrow register tile. */
    static final int NR = 4;
    /** Weight rows threads split n by: whole blocks of the 16-row butterfly tile where it runs. */
    private static final int UNIT = L == 16 ? 16 : NR;
    /** x rows per register tile. */
    static final int MR = 4;
    /**
     * Depth from which several x rows take the MR x NR tiles rather than the butterfly: each of their outputs ends
     * in its own lane tree, which the butterfly shares among 16, so they win only over a long enough depth
     * (one thread, m 32-128: 0.65x the butterfly's speed at k 256, 1.3-2x at k 1024).
     */
    private static final int TILE_DEPTH = 512;
    /** Multiply-adds per thread below which a hand-off to the pool costs more than it saves. */
    private static final long MACS_PER_THREAD = 1L << 18;
    // The tree's shuffles: lane i takes lane i ^ h (QuantizedMatmul's tiles use the same tree).
    static final VectorShuffle<Float> SWAP8 = swap(8), SWAP4 = swap(4), SWAP2 = swap(2), SWAP1 = swap(1);
    // Lanes whose index has bit h set.
    static final VectorMask<Float> BIT8 = bit(8), BIT4 = bit(4), BIT2 = bit(2), BIT1 = bit(1);

    private DotGemm() {}

    private static VectorMask<Float> bit(int h) {
        boolean[] set = new boolean[L];
        for (int i = 0; i < L; i++) set[i] = (i & h) != 0;
        return VectorMask.fromArray(S, set, 0);
    }

    private static VectorShuffle<Float> swap(int h) {
        return VectorShuffle.fromOp(S, i -> (i ^ h) % L);
    }

    /**
     * A dense layer at inference: {@code x [..., in]} times {@code weight [out, in]} transposed plus {@code bias
     * [out]} (or null), giving a fresh {@code [..., out]}. Float32 only; strided inputs are made contiguous.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        if (x.rank() < 1 || weight.rank() != 2 || x.dim(-1) != weight.dim(1)) {
            throw ShapeException.of("linear", "needs x [..., in] and weight [out, in]", x.shape(), weight.shape());
        }
        int k = weight.dim(1), n = weight.dim(0);
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != n)) {
            throw ShapeException.of("linear", "bias must be [out] for weight [out, in]", bias.shape(), weight.shape());
        }
        if (x.dtype() != DType.F32 || weight.dtype() != DType.F32 || bias != null && bias.dtype() != DType.F32) {
            throw ShapeException.of("linear", "the inference product takes float32 tensors", x.shape(), weight.shape());
        }
        int[] shape = x.shape();
        int m = Shapes.numel(java.util.Arrays.copyOf(shape, shape.length - 1));
        shape[shape.length - 1] = n;
        Tensor y = Tensor.zeros(shape);
        Tensor xc = x.contiguous(), wc = weight.contiguous(), bc = bias == null ? null : bias.contiguous();
        forward(m, n, k, xc.floats(), xc.offset(), k, wc.floats(), wc.offset(), k,
                bc == null ? null : bc.floats(), bc == null ? 0 : bc.offset(), y.floats(), 0, n);
        return y;
    }

    /**
     * {@code y[i][j] = dot(x row i, w row j) (+ bias[offBias + j])} on arrays, rows at leading dimensions ldx,
     * ldw, ldy (elements). Threads split n, when the product is large enough to pay for them.
     */
    public static void forward(int m, int n, int k, float[] x, int offX, int ldx, float[] w, int offW, int ldw,
            float[] bias, int offBias, float[] y, int offY, int ldy) {
        check(m, n, k, x.length, offX, ldx, w.length, offW, ldw, bias == null ? -1 : bias.length, offBias, y.length,
                offY, ldy);
        if (m == 0 || n == 0) return;
        if (!Backend.vector()) {
            reference(m, n, k, x, offX, ldx, w, offW, ldw, bias, offBias, y, offY, ldy);
            return;
        }
        int units = (n + UNIT - 1) / UNIT;
        long macs = (long) m * n * Math.max(k, 1);
        int chunks = (int) Math.min(Math.min(units, Parallel.threads()), Math.max(1, macs / MACS_PER_THREAD));
        Parallel.forChunks(units, chunks, (c, from, to) -> columns(m, k, x, offX, ldx, w, offW, ldw, bias, offBias,
                y, offY, ldy, from * UNIT, Math.min(n, to * UNIT)));
    }

    /**
     * Grouped inference product: the rows of x [rows, k] come in groups ({@code offsets} [groups + 1]) and group g
     * is multiplied by its own weight {@code w [groups, n, k]}; returns y [rows, n]. The experts of a MoE layer.
     * One parallel region covers every group, split by multiply-adds, so a decode step pays one hand-off per
     * projection instead of one per expert.
     */
    public static Tensor grouped(Tensor x, Tensor w, int[] offsets) {
        if (x.rank() != 2 || w.rank() != 3 || x.dim(1) != w.dim(2) || w.dim(0) + 1 != offsets.length
                || offsets[0] != 0 || offsets[offsets.length - 1] != x.dim(0)) {
            throw ShapeException.of("groupedGemm", "needs x [rows, in], w [groups, out, in] and offsets [groups + 1] from"
                    + " 0 to rows", x.shape(), w.shape(), new int[] {offsets.length});
        }
        if (x.dtype() != DType.F32 || w.dtype() != DType.F32) {
            throw ShapeException.of("groupedGemm", "the inference product takes float32 tensors", x.shape(), w.shape());
        }
        int groups = w.dim(0), n = w.dim(1), k = w.dim(2), rows = x.dim(0);
        for (int g = 0; g < groups; g++) {
            if (offsets[g + 1] < offsets[g]) {
                throw ShapeException.of("groupedGemm", "offsets must not decrease", new int[] {offsets.length});
            }
        }
        Tensor y = Tensor.zeros(rows, n);
        Tensor xc = x.contiguous(), wc = w.contiguous();
        float[] xa = xc.floats(), wa = wc.floats(), ya = y.floats();
        int ox = xc.offset(), ow = wc.offset();
        if (!Backend.vector()) {
            for (int g = 0; g < groups; g++) {
                int r0 = offsets[g], r1 = offsets[g + 1];
                reference(r1 - r0, n, k, xa, ox + r0 * k, k, wa, ow + g * n * k, k, null, 0, ya, r0 * n, n);
            }
            return y;
        }
        // Work items: (group, unit of UNIT weight rows), in group order; an item's cost is rows x UNIT x k.
        int units = (n + UNIT - 1) / UNIT;
        long total = (long) rows * n * Math.max(1, k);
        int chunks = (int) Math.min(Parallel.threads(), Math.max(1, total / MACS_PER_THREAD));
        if (chunks <= 1) {
            for (int g = 0; g < groups; g++) {
                int r0 = offsets[g], r1 = offsets[g + 1];
                if (r1 > r0) {
                    columns(r1 - r0, k, xa, ox + r0 * k, k, wa, ow + g * n * k, k, null, 0, ya, r0 * n, n, 0, n);
                }
            }
            return y;
        }
        long[] before = new long[groups + 1]; // rows of the groups before g: items are cut by cumulative rows x units
        for (int g = 0; g < groups; g++) before[g + 1] = before[g] + (long) (offsets[g + 1] - offsets[g]) * units;
        long all = before[groups];
        Parallel.forChunks(chunks, chunks, (c, unused0, unused1) -> {
            long lo = all * c / chunks, hi = all * (c + 1) / chunks;
            for (int g = 0; g < groups; g++) {
                int r0 = offsets[g], r1 = offsets[g + 1], rs = r1 - r0;
                if (rs == 0 || before[g + 1] <= lo || before[g] >= hi) continue;
                // This chunk's share of group g, in whole units: those whose cost midpoint lies in [lo, hi).
                int u0 = unitAt(lo, before[g], rs, units), u1 = unitAt(hi, before[g], rs, units);
                if (u1 > u0) {
                    columns(rs, k, xa, ox + r0 * k, k, wa, ow + g * n * k, k, null, 0, ya, r0 * n, n, u0 * UNIT,
                            Math.min(n, u1 * UNIT));
                }
            }
        });
        return y;
    }

    /** The first unit of a group (starting at cumulative cost {@code base}, {@code rows} per unit) at or after cost {@code at}. */
    private static int unitAt(long at, long base, int rows, int units) {
        long u = (at - base + rows - 1) / rows;
        return (int) Math.max(0, Math.min(units, u));
    }

    /**
     * Output columns [j0, j1) for every row. Under MR rows (decoding) or a short depth, blocks of L weight rows meet
     * one row at a time (their sums come out of {@link #tile1xL} as one vector); from MR rows on (a prompt, an
     * expert's tokens) over a depth of {@link #TILE_DEPTH} or more the MR x NR tiles run instead, which load a weight
     * vector once for MR rows; then NR rows at a time, then single dot products at the edge. Every path is the same
     * definition.
     */
    static void columns(int m, int k, float[] x, int offX, int ldx, float[] w, int offW, int ldw,
            float[] bias, int offBias, float[] y, int offY, int ldy, int j0, int j1) {
        int j = j0;
        if (L == 16 && (m < MR || k < TILE_DEPTH)) {
            for (; j + L <= j1; j += L) {
                for (int i = 0; i < m; i++) tile1xL(k, x, offX + i * ldx, w, offW + j * ldw, ldw, bias, offBias + j,
                        y, offY + i * ldy + j);
            }
        }
        for (; j + NR <= j1; j += NR) {
            int i = 0;
            for (; i + MR <= m; i += MR) tile4x4(k, x, offX + i * ldx, ldx, w, offW + j * ldw, ldw, bias, offBias + j,
                    y, offY + i * ldy + j, ldy);
            for (; i < m; i++) tile1x4(k, x, offX + i * ldx, w, offW + j * ldw, ldw, bias, offBias + j,
                    y, offY + i * ldy + j);
        }
        for (; j < j1; j++) {
            for (int i = 0; i < m; i++) {
                y[offY + i * ldy + j] = dot1(k, x, offX + i * ldx, w, offW + j * ldw, bias, offBias + j);
            }
        }
    }

    /**
     * One x row against 16 weight rows (16 lanes). The 16 lane trees run side by side as a butterfly: at level h
     * two vectors become one, lanes with bit h clear carrying the first one's pair sums {@code acc_i + acc_(i+h)}
     * and lanes with it set the second's; pairing rows j and j + h at level h leaves row j's total in lane j, so
     * the 16 outputs are stored as one vector. Each sum is the tree's own, so the bits equal {@link #reference}.
     */
    private static void tile1xL(int k, float[] x, int xi, float[] w, int wi, int ldw, float[] bias, int bi,
            float[] y, int yi) {
        int K = k - k % L;
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        FloatVector c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
        for (int p = 0; p < K; p += L) {
            FloatVector a = FloatVector.fromArray(S, x, xi + p);
            int q = wi + p;
            c0 = a.fma(FloatVector.fromArray(S, w, q), c0);
            c1 = a.fma(FloatVector.fromArray(S, w, q + ldw), c1);
            c2 = a.fma(FloatVector.fromArray(S, w, q + 2 * ldw), c2);
            c3 = a.fma(FloatVector.fromArray(S, w, q + 3 * ldw), c3);
            c4 = a.fma(FloatVector.fromArray(S, w, q + 4 * ldw), c4);
            c5 = a.fma(FloatVector.fromArray(S, w, q + 5 * ldw), c5);
            c6 = a.fma(FloatVector.fromArray(S, w, q + 6 * ldw), c6);
            c7 = a.fma(FloatVector.fromArray(S, w, q + 7 * ldw), c7);
            c8 = a.fma(FloatVector.fromArray(S, w, q + 8 * ldw), c8);
            c9 = a.fma(FloatVector.fromArray(S, w, q + 9 * ldw), c9);
            c10 = a.fma(FloatVector.fromArray(S, w, q + 10 * ldw), c10);
            c11 = a.fma(FloatVector.fromArray(S, w, q + 11 * ldw), c11);
            c12 = a.fma(FloatVector.fromArray(S, w, q + 12 * ldw), c12);
            c13 = a.fma(FloatVector.fromArray(S, w, q + 13 * ldw), c13);
            c14 = a.fma(FloatVector.fromArray(S, w, q + 14 * ldw), c14);
            c15 = a.fma(FloatVector.fromArray(S, w, q + 15 * ldw), c15);
        }
        // Level 8 pairs rows j and j + 8, level 4 the results j and j + 4, and so on. Written out rather than
        // called: a helper taking vectors may be compiled apart, and then its vectors are boxed.
        FloatVector r0 = c0.blend(c8, BIT8).add(c8.blend(c0, BIT8).rearrange(SWAP8));
        FloatVector r1 = c1.blend(c9, BIT8).add(c9.blend(c1, BIT8).rearrange(SWAP8));
        FloatVector r2 = c2.blend(c10, BIT8).add(c10.blend(c2, BIT8).rearrange(SWAP8));
        FloatVector r3 = c3.blend(c11, BIT8).add(c11.blend(c3, BIT8).rearrange(SWAP8));
        FloatVector r4 = c4.blend(c12, BIT8).add(c12.blend(c4, BIT8).rearrange(SWAP8));
        FloatVector r5 = c5.blend(c13, BIT8).add(c13.blend(c5, BIT8).rearrange(SWAP8));
        FloatVector r6 = c6.blend(c14, BIT8).add(c14.blend(c6, BIT8).rearrange(SWAP8));
        FloatVector r7 = c7.blend(c15, BIT8).add(c15.blend(c7, BIT8).rearrange(SWAP8));
        r0 = r0.blend(r4, BIT4).add(r4.blend(r0, BIT4).rearrange(SWAP4));
        r1 = r1.blend(r5, BIT4).add(r5.blend(r1, BIT4).rearrange(SWAP4));
        r2 = r2.blend(r6, BIT4).add(r6.blend(r2, BIT4).rearrange(SWAP4));
        r3 = r3.blend(r7, BIT4).add(r7.blend(r3, BIT4).rearrange(SWAP4));
        r0 = r0.blend(r2, BIT2).add(r2.blend(r0, BIT2).rearrange(SWAP2));
        r1 = r1.blend(r3, BIT2).add(r3.blend(r1, BIT2).rearrange(SWAP2));
        r0 = r0.blend(r1, BIT1).add(r1.blend(r0, BIT1).rearrange(SWAP1));
        r0.intoArray(y, yi);
        if (K < k || bias != null) {
            for (int j = 0; j < L; j++) {
                float s = y[yi + j];
                int wj = wi + j * ldw;
                for (int p = K; p < k; p++) s = Math.fma(x[xi + p], w[wj + p], s);
                y[yi + j] = bias == null ? s : s + bias[bi + j];
            }
        }
    }

    /** Lanes of v added as the fixed tree: lane i plus lane i ^ 8, then ^ 4, ^ 2, ^ 1 (for 16 lanes). */
    static float tree(FloatVector v) {
        if (L >= 16) v = v.add(v.rearrange(SWAP8));
        if (L >= 8) v = v.add(v.rearrange(SWAP4));
        if (L >= 4) v = v.add(v.rearrange(SWAP2));
        if (L >= 2) v = v.add(v.rearrange(SWAP1));
        return v.lane(0);
    }

    private static void tile4x4(int k, float[] x, int xi, int ldx, float[] w, int wi, int ldw, float[] bias, int bi,
            float[] y, int yi, int ldy) {
        int K = k - k % L;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int x0 = xi, x1 = xi + ldx, x2 = xi + 2 * ldx, x3 = xi + 3 * ldx;
        int w0 = wi, w1 = wi + ldw, w2 = wi + 2 * ldw, w3 = wi + 3 * ldw;
        for (int p = 0; p < K; p += L) {
            FloatVector b0 = FloatVector.fromArray(S, w, w0 + p), b1 = FloatVector.fromArray(S, w, w1 + p);
            FloatVector b2 = FloatVector.fromArray(S, w, w2 + p), b3 = FloatVector.fromArray(S, w, w3 + p);
            FloatVector a = FloatVector.fromArray(S, x, x0 + p);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            c02 = a.fma(b2, c02);
            c03 = a.fma(b3, c03);
            a = FloatVector.fromArray(S, x, x1 + p);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            c12 = a.fma(b2, c12);
            c13 = a.fma(b3, c13);
            a = FloatVector.fromArray(S, x, x2 + p);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            c22 = a.fma(b2, c22);
            c23 = a.fma(b3, c23);
            a = FloatVector.fromArray(S, x, x3 + p);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            c32 = a.fma(b2, c32);
            c33 = a.fma(b3, c33);
        }
        finish(tree(c00), k, K, x, x0, w, w0, bias, bi, y, yi);
        finish(tree(c01), k, K, x, x0, w, w1, bias, bi + 1, y, yi + 1);
        finish(tree(c02), k, K, x, x0, w, w2, bias, bi + 2, y, yi + 2);
        finish(tree(c03), k, K, x, x0, w, w3, bias, bi + 3, y, yi + 3);
        finish(tree(c10), k, K, x, x1, w, w0, bias, bi, y, yi + ldy);
        finish(tree(c11), k, K, x, x1, w, w1, bias, bi + 1, y, yi + ldy + 1);
        finish(tree(c12), k, K, x, x1, w, w2, bias, bi + 2, y, yi + ldy + 2);
        finish(tree(c13), k, K, x, x1, w, w3, bias, bi + 3, y, yi + ldy + 3);
        finish(tree(c20), k, K, x, x2, w, w0, bias, bi, y, yi + 2 * ldy);
        finish(tree(c21), k, K, x, x2, w, w1, bias, bi + 1, y, yi + 2 * ldy + 1);
        finish(tree(c22), k, K, x, x2, w, w2, bias, bi + 2, y, yi + 2 * ldy + 2);
        finish(tree(c23), k, K, x, x2, w, w3, bias, bi + 3, y, yi + 2 * ldy + 3);
        finish(tree(c30), k, K, x, x3, w, w0, bias, bi, y, yi + 3 * ldy);
        finish(tree(c31), k, K, x, x3, w, w1, bias, bi + 1, y, yi + 3 * ldy + 1);
        finish(tree(c32), k, K, x, x3, w, w2, bias, bi + 2, y, yi + 3 * ldy + 2);
        finish(tree(c33), k, K, x, x3, w, w3, bias, bi + 3, y, yi + 3 * ldy + 3);
    }

    private static void tile1x4(int k, float[] x, int xi, float[] w, int wi, int ldw, float[] bias, int bi,
            float[] y, int yi) {
        int K = k - k % L;
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
        int w0 = wi, w1 = wi + ldw, w2 = wi + 2 * ldw, w3 = wi + 3 * ldw;
        for (int p = 0; p < K; p += L) {
            FloatVector a = FloatVector.fromArray(S, x, xi + p);
            c0 = a.fma(FloatVector.fromArray(S, w, w0 + p), c0);
            c1 = a.fma(FloatVector.fromArray(S, w, w1 + p), c1);
            c2 = a.fma(FloatVector.fromArray(S, w, w2 + p), c2);
            c3 = a.fma(FloatVector.fromArray(S, w, w3 + p), c3);
        }
        finish(tree(c0), k, K, x, xi, w, w0, bias, bi, y, yi);
        finish(tree(c1), k, K, x, xi, w, w1, bias, bi + 1, y, yi + 1);
        finish(tree(c2), k, K, x, xi, w, w2, bias, bi + 2, y, yi + 2);
        finish(tree(c3), k, K, x, xi, w, w3, bias, bi + 3, y, yi + 3);
    }

    private static float dot1(int k, float[] x, int xi, float[] w, int wi, float[] bias, int bi) {
        int K = k - k % L;
        FloatVector c = FloatVector.zero(S);
        for (int p = 0; p < K; p += L) c = FloatVector.fromArray(S, x, xi + p).fma(FloatVector.fromArray(S, w, wi + p), c);
        float s = tree(c);
        for (int p = K; p < k; p++) s = Math.fma(x[xi + p], w[wi + p], s);
        return bias == null ? s : s + bias[bi];
    }

    /** The tail of the depth and the bias, then the store. */
    private static void finish(float s, int k, int K, float[] x, int xi, float[] w, int wi, float[] bias, int bi,
            float[] y, int yi) {
        for (int p = K; p < k; p++) s = Math.fma(x[xi + p], w[wi + p], s);
        y[yi] = bias == null ? s : s + bias[bi];
    }

    /** The definition (see the class comment) in scalar code: what every fast path must equal bit for bit. */
    public static void reference(int m, int n, int k, float[] x, int offX, int ldx, float[] w, int offW, int ldw,
            float[] bias, int offBias, float[] y, int offY, int ldy) {
        int K = k - k % L;
        float[] acc = new float[L];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int xi = offX + i * ldx, wi = offW + j * ldw;
                java.util.Arrays.fill(acc, 0f);
                for (int p = 0; p < K; p++) acc[p % L] = Math.fma(x[xi + p], w[wi + p], acc[p % L]);
                for (int h = L / 2; h >= 1; h /= 2) {
                    for (int l = 0; l < h; l++) acc[l] += acc[l + h];
                }
                float s = acc[0];
                for (int p = K; p < k; p++) s = Math.fma(x[xi + p], w[wi + p], s);
                y[offY + i * ldy + j] = bias == null ? s : s + bias[offBias + j];
            }
        }
    }

    private static void check(int m, int n, int k, int lenX, int offX, int ldx, int lenW, int offW, int ldw,
            int lenBias, int offBias, int lenY, int offY, int ldy) {
        if (m < 0 || n < 0 || k < 0 || offX < 0 || offW < 0 || offY < 0 || offBias < 0) {
            throw new ShapeException("dotGemm", "negative size or offset: m=" + m + " n=" + n + " k=" + k);
        }
        if (ldx < k || ldw < k || ldy < n) {
            throw new ShapeException("dotGemm", "leading dimension too small: ldx=" + ldx + " ldw=" + ldw + " ldy=" + ldy
                    + " for m=" + m + " n=" + n + " k=" + k);
        }
        if (m == 0 || n == 0) return;
        if ((long) offX + (long) (m - 1) * ldx + k > lenX || (long) offW + (long) (n - 1) * ldw + k > lenW
                || (long) offY + (long) (m - 1) * ldy + n > lenY || lenBias >= 0 && (long) offBias + n > lenBias) {
            throw new ShapeException("dotGemm", "arrays too short for m=" + m + " n=" + n + " k=" + k + " (x " + lenX
                    + ", w " + lenW + ", y " + lenY + (lenBias >= 0 ? ", bias " + lenBias : "") + ")");
        }
    }
}
