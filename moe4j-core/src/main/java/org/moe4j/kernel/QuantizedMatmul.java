package org.moe4j.kernel;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHR;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Float16s;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;

/**
 * {@code y[m, n] = x[m, k] · W[n, k]ᵀ} with W kept in its file format ({@link QuantizedTensor}) and x, y float32:
 * the decode-time matmul, which streams each weight byte once per token.
 *
 * <p>Every output element is one fixed sequence, whatever m, the tiling or the thread count: element e of a row goes
 * to lane {@code e % L} (L = {@link Backend#FLOATS} lanes). For block formats each lane first forms its block partial
 * {@code p = q0·x0}, then {@code p = fma(q, x, p)} over the block's later chunks, and then {@code acc = fma(p, d, acc)}
 * with the block's scale d; the lanes are then added as {@link DotGemm}'s fixed tree ({@code acc_i += acc_(i + h)}
 * for h = L/2, ..., 1). Float formats (F32, F16, BF16) follow {@link DotGemm}'s definition on the decoded row. {@link
 * #matmulReference} spells out exactly this sequence in scalar code, so the fast path must equal it bit for bit.
 *
 * <p>The fast path has {@link DotGemm}'s structure: threads split the weight rows in whole 16-row units; one x row
 * meets 16 weight rows at a time and the 16 lane trees run side by side as a butterfly (one vector store of 16
 * outputs). For several x rows (prefill) a unit's blocks are decoded once into a float panel of integer levels and
 * scales, which every x row then reads; the per-element sequence is the same.
 */
public final class QuantizedMatmul {
    private static final VectorSpecies<Float> F = Backend.FLOATS;
    private static final int L = F.length();
    private static final int QK = 32; // values per Q8_0 / Q4_0 block
    /** Weight rows per butterfly tile and per unit the threads split n by. */
    private static final int UNIT = 16;
    /** Bytes holding one chunk of L int8 values (null when L lanes of bytes make no vector shape). */
    private static final VectorSpecies<Byte> B = L == 8 || L == 16
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;
    /** Whether the 16-lane butterfly tiles run (they assume 16 float lanes, two per 32-value block). */
    private static final boolean TILES = L == 16;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    /** Multiply-adds per thread below which a hand-off to the pool costs more than it saves. */
    private static final long MACS_PER_THREAD = 1L << 18;
    // DotGemm's lane tree, so both kernels add lanes in the same order.
    private static final VectorShuffle<Float> SWAP8 = DotGemm.SWAP8, SWAP4 = DotGemm.SWAP4, SWAP2 = DotGemm.SWAP2,
            SWAP1 = DotGemm.SWAP1;
    private static final VectorMask<Float> BIT8 = DotGemm.BIT8, BIT4 = DotGemm.BIT4, BIT2 = DotGemm.BIT2,
            BIT1 = DotGemm.BIT1;

    private QuantizedMatmul() {}

    /** {@code x [m, k]} (or {@code [k]}) times {@code wᵀ} for {@code w [n, k]}: {@code [m, n]} (or {@code [n]}). */
    public static Tensor matmul(Tensor x, QuantizedTensor w) {
        int[] xs = x.shape();
        if (x.dtype() != DType.F32 || (xs.length != 1 && xs.length != 2) || xs[xs.length - 1] != w.cols()) {
            throw ShapeException.of("quantized matmul", "x must be F32 [m, k] or [k] with k = the weight's columns "
                    + "(weight " + w + ", x " + x.dtype() + ")", xs, w.shape());
        }
        int m = xs.length == 1 ? 1 : xs[0];
        Tensor xc = x.contiguous();
        float[] y = new float[Math.multiplyExact(m, w.rows())];
        matmul(xc.floats(), xc.offset(), m, w, y, 0);
        return xs.length == 1 ? Tensor.of(y, w.rows()) : Tensor.of(y, m, w.rows());
    }

    /**
     * A dense layer at inference with a quantized weight: {@code x [..., in]} times {@code w [out, in]} transposed
     * plus {@code bias [out]} (or null; added last, {@code y = s + bias[j]}), giving a fresh float32 {@code [..., out]}.
     */
    public static Tensor linear(Tensor x, QuantizedTensor w, Tensor bias) {
        if (x.rank() < 1 || x.dtype() != DType.F32 || x.dim(-1) != w.cols()) {
            throw ShapeException.of("quantized linear", "needs float32 x [..., in] for weight " + w, x.shape(), w.shape());
        }
        int n = w.rows();
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != n || bias.dtype() != DType.F32)) {
            throw ShapeException.of("quantized linear", "bias must be float32 [out] for weight " + w, bias.shape(),
                    w.shape());
        }
        int[] shape = x.shape();
        int m = Shapes.numel(Arrays.copyOf(shape, shape.length - 1));
        shape[shape.length - 1] = n;
        Tensor y = Tensor.zeros(shape);
        Tensor xc = x.contiguous();
        float[] ya = y.floats();
        matmul(xc.floats(), xc.offset(), m, w, ya, 0);
        if (bias != null) {
            Tensor bc = bias.contiguous();
            float[] b = bc.floats();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) ya[i * n + j] += b[bc.offset() + j];
            }
        }
        return y;
    }

    /** Row-major {@code y[yOff..] (m × n) = x[xOff..] (m × k) · wᵀ}; threads split the weight rows in 16-row units. */
    public static void matmul(float[] x, int xOff, int m, QuantizedTensor w, float[] y, int yOff) {
        int k = w.cols(), n = w.rows();
        check(x.length, xOff, m, k, y.length, yOff, n);
        if (m == 0 || n == 0) return;
        if (!fast(w)) {
            matmulReference(x, xOff, m, w, y, yOff);
            return;
        }
        int units = (n + UNIT - 1) / UNIT;
        long macs = (long) m * n * Math.max(k, 1);
        int chunks = (int) Math.min(Math.min(units, Parallel.threads()), Math.max(1, macs / MACS_PER_THREAD));
        Parallel.forChunks(units, chunks, (c, from, to) -> columns(m, k, x, xOff, w, 0, y, yOff, n, from * UNIT,
                Math.min(n, to * UNIT), null));
    }

    /**
     * Grouped product for stacked experts: {@code w} holds {@code groups} matrices of {@code n} rows back to back
     * ([groups * n, k]); the rows of {@code x [rows, k]} come in groups ({@code offsets} [groups + 1], from 0 to rows)
     * and group g is multiplied by matrix g. Returns y [rows, n]. One parallel region covers every group, split by
     * multiply-adds, so a decode step pays one hand-off per projection instead of one per expert.
     */
    public static Tensor grouped(Tensor x, QuantizedTensor w, int[] offsets) {
        int groups = offsets.length - 1;
        if (x.rank() != 2 || x.dtype() != DType.F32 || x.dim(1) != w.cols() || groups < 1 || w.rows() % groups != 0
                || offsets[0] != 0 || offsets[groups] != x.dim(0)) {
            throw ShapeException.of("quantized groupedGemm", "needs float32 x [rows, in], w [groups * out, in] and offsets"
                    + " [groups + 1] from 0 to rows (weight " + w + ")", x.shape(), w.shape(), new int[] {offsets.length});
        }
        for (int g = 0; g < groups; g++) {
            if (offsets[g + 1] < offsets[g]) {
                throw ShapeException.of("quantized groupedGemm", "offsets must not decrease", new int[] {offsets.length});
            }
        }
        int n = w.rows() / groups, k = w.cols(), rows = x.dim(0);
        int[] off = offsets.clone();
        Tensor y = Tensor.zeros(rows, n);
        Tensor xc = x.contiguous();
        float[] xa = xc.floats(), ya = y.floats();
        int ox = xc.offset();
        if (!fast(w)) {
            for (int g = 0; g < groups; g++) {
                if (off[g + 1] > off[g]) {
                    matmulReference(xa, ox + off[g] * k, off[g + 1] - off[g], w.rows(g * n, (g + 1) * n), ya, off[g] * n);
                }
            }
            return y;
        }
        int units = (n + UNIT - 1) / UNIT;
        long total = (long) rows * n * Math.max(1, k);
        int chunks = (int) Math.min(Parallel.threads(), Math.max(1, total / MACS_PER_THREAD));
        long[] before = new long[groups + 1]; // cost (rows x units) of the groups before g
        for (int g = 0; g < groups; g++) before[g + 1] = before[g] + (long) (off[g + 1] - off[g]) * units;
        long all = before[groups];
        Parallel.forChunks(chunks, chunks, (c, unused0, unused1) -> {
            long lo = all * c / chunks, hi = all * (c + 1) / chunks;
            Scratch scratch = null;
            for (int g = 0; g < groups; g++) {
                int r0 = off[g], rs = off[g + 1] - r0;
                if (rs == 0 || before[g + 1] <= lo || before[g] >= hi) continue;
                int u0 = unitAt(lo, before[g], rs, units), u1 = unitAt(hi, before[g], rs, units);
                if (u1 > u0) {
                    scratch = columns(rs, k, xa, ox + r0 * k, w, g * n, ya, r0 * n, n, u0 * UNIT, Math.min(n, u1 * UNIT),
                            scratch);
                }
            }
        });
        return y;
    }

    private static int unitAt(long at, long base, int rows, int units) {
        long u = (at - base + rows - 1) / rows;
        return (int) Math.max(0, Math.min(units, u));
    }

    private static boolean fast(QuantizedTensor w) {
        return Backend.vector() && (!w.format().isBlockQuantized() || B != null);
    }

    /** A thread's decode buffers, made when first needed: a 16-row panel of levels or floats and its block scales. */
    private static final class Scratch {
        final float[] panel; // [16, k]
        final float[] scales; // [16, k / 32]

        Scratch(int k) {
            this.panel = new float[UNIT * k];
            this.scales = new float[UNIT * Math.max(1, k / QK)];
        }
    }

    /**
     * Output columns [j0, j1) (weight rows {@code row0 + j}) for every x row: whole 16-row units by the butterfly
     * (decoded straight from the blocks for one x row, through the panel for several), single rows at the edge.
     */
    private static Scratch columns(int m, int k, float[] x, int offX, QuantizedTensor w, int row0, float[] y, int offY,
            int ldy, int j0, int j1, Scratch scratch) {
        QuantFormat f = w.format();
        if (scratch == null && (m > 1 || !f.isBlockQuantized())) scratch = new Scratch(k);
        MemorySegment s = w.data();
        long rb = w.rowBytes();
        int j = j0;
        if (!f.isBlockQuantized()) {
            // Float formats: decode each unit's rows and run DotGemm's tiles on them, which is DotGemm's definition.
            for (; j < j1; j += UNIT) {
                int r = Math.min(UNIT, j1 - j);
                for (int t = 0; t < r; t++) w.dequantizeRow(row0 + j + t, scratch.panel, t * k);
                DotGemm.columns(m, k, x, offX, k, scratch.panel, 0, k, null, 0, y, offY + j, ldy, 0, r);
            }
            return scratch;
        }
        if (TILES) {
            for (; j + UNIT <= j1; j += UNIT) {
                long at = (row0 + j) * rb;
                if (m == 1) {
                    if (f == QuantFormat.Q8_0) q8x16(k, x, offX, s, at, rb, y, offY + j);
                    else q4x16(k, x, offX, s, at, rb, y, offY + j);
                } else {
                    decodePanel(w, row0 + j, k, scratch);
                    for (int i = 0; i < m; i++) panelx16(k, x, offX + i * k, scratch.panel, scratch.scales, y,
                            offY + i * ldy + j);
                }
            }
        }
        for (; j < j1; j++) {
            long at = (row0 + j) * rb;
            for (int i = 0; i < m; i++) y[offY + i * ldy + j] = dot1(f, k, x, offX + i * k, s, at);
        }
        return scratch;
    }

    /** The integer levels (as floats, exact) and scales of 16 rows from {@code row} into the scratch panel. */
    private static void decodePanel(QuantizedTensor w, int row, int k, Scratch scratch) {
        MemorySegment s = w.data();
        long rb = w.rowBytes();
        boolean q8 = w.format() == QuantFormat.Q8_0;
        int nb = k / QK, bytes = w.format().blockBytes();
        float[] lv = scratch.panel, sc = scratch.scales;
        for (int r = 0; r < UNIT; r++) {
            long at = (row + r) * rb;
            for (int b = 0; b < nb; b++, at += bytes) {
                sc[r * nb + b] = Float.float16ToFloat(s.get(I16_LE, at));
                int e = r * k + b * QK;
                if (q8) {
                    ((FloatVector) ByteVector.fromMemorySegment(B, s, at + 2, LE).convertShape(B2F, F, 0)).intoArray(lv, e);
                    ((FloatVector) ByteVector.fromMemorySegment(B, s, at + 18, LE).convertShape(B2F, F, 0))
                            .intoArray(lv, e + 16);
                } else {
                    ByteVector v = ByteVector.fromMemorySegment(B, s, at + 2, LE);
                    ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).intoArray(lv, e);
                    ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).intoArray(lv, e + 16);
                }
            }
        }
    }

    /** One element of a block format, any lane count: the class comment's sequence with a vector of L lanes. */
    private static float dot1(QuantFormat f, int k, float[] x, int xo, MemorySegment s, long at) {
        FloatVector acc = FloatVector.zero(F);
        int bytes = f.blockBytes();
        for (int b = 0; b < k / QK; b++, at += bytes) {
            float d = Float.float16ToFloat(s.get(I16_LE, at));
            int xb = xo + b * QK;
            FloatVector p = level(f, s, at, 0).mul(FloatVector.fromArray(F, x, xb));
            for (int c = L; c < QK; c += L) p = level(f, s, at, c).fma(FloatVector.fromArray(F, x, xb + c), p);
            acc = p.fma(FloatVector.broadcast(F, d), acc);
        }
        return DotGemm.tree(acc);
    }

    /** Chunk c (L values) of the block at {@code at}, as floats. Small enough to inline. */
    private static FloatVector level(QuantFormat f, MemorySegment s, long at, int c) {
        if (f == QuantFormat.Q8_0) {
            return (FloatVector) ByteVector.fromMemorySegment(B, s, at + 2 + c, LE).convertShape(B2F, F, 0);
        }
        ByteVector packed = ByteVector.fromMemorySegment(B, s, at + 2 + c % (QK / 2), LE);
        ByteVector nib = c < QK / 2 ? packed.and((byte) 0x0f) : packed.lanewise(LSHR, 4);
        return (FloatVector) nib.sub((byte) 8).convertShape(B2F, F, 0);
    }

    /** One x row against the 16 Q8_0 rows from byte {@code at} ({@code rb} bytes apart): the butterfly of {@link DotGemm}. */
    private static void q8x16(int k, float[] x, int xi, MemorySegment s, long at, long rb, float[] y, int yi) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
        for (int b = 0, e = xi; b < k / QK; b++, e += QK, at += 34) {
            FloatVector x0 = FloatVector.fromArray(F, x, e), x1 = FloatVector.fromArray(F, x, e + 16);
            long o = at;
            FloatVector p;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c0 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c0);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c1 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c1);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c2 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c2);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c3 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c3);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c4 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c4);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c5 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c5);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c6 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c6);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c7 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c7);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c8 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c8);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c9 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c9);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c10 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c10);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c11 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c11);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c12 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c12);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c13 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c13);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c14 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c14);
            o += rb;
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 2, LE).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) ByteVector.fromMemorySegment(B, s, o + 18, LE).convertShape(B2F, F, 0)).fma(x1, p);
            c15 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c15);
        }
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
    }

    /** As {@link #q8x16} for Q4_0: one 16-byte load per block and row gives both nibble halves. */
    private static void q4x16(int k, float[] x, int xi, MemorySegment s, long at, long rb, float[] y, int yi) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
        for (int b = 0, e = xi; b < k / QK; b++, e += QK, at += 18) {
            FloatVector x0 = FloatVector.fromArray(F, x, e), x1 = FloatVector.fromArray(F, x, e + 16);
            long o = at;
            FloatVector p;
            ByteVector v;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c0 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c0);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c1 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c1);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c2 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c2);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c3 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c3);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c4 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c4);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c5 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c5);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c6 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c6);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c7 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c7);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c8 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c8);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c9 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c9);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c10 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c10);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c11 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c11);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c12 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c12);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c13 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c13);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c14 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c14);
            o += rb;
            v = ByteVector.fromMemorySegment(B, s, o + 2, LE);
            p = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(x0);
            p = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).fma(x1, p);
            c15 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(s.get(I16_LE, o))), c15);
        }
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
    }

    /**
     * One x row against a decoded panel of 16 rows: {@code lv} [16, k] holds the integer levels as floats and {@code
     * sc} [16, k / 32] the block scales, so prefill decodes a block once for all its x rows; same sequence as {@link #q8x16}.
     */
    private static void panelx16(int k, float[] x, int xi, float[] lv, float[] sc, float[] y, int yi) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
        int nb = k / QK;
        for (int b = 0, e = 0; b < nb; b++, e += QK) {
            FloatVector x0 = FloatVector.fromArray(F, x, xi + e), x1 = FloatVector.fromArray(F, x, xi + e + 16);
            FloatVector p;
            p = FloatVector.fromArray(F, lv, 0 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 0 * k + e + 16).fma(x1, p);
            c0 = p.fma(FloatVector.broadcast(F, sc[0 * nb + b]), c0);
            p = FloatVector.fromArray(F, lv, 1 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 1 * k + e + 16).fma(x1, p);
            c1 = p.fma(FloatVector.broadcast(F, sc[1 * nb + b]), c1);
            p = FloatVector.fromArray(F, lv, 2 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 2 * k + e + 16).fma(x1, p);
            c2 = p.fma(FloatVector.broadcast(F, sc[2 * nb + b]), c2);
            p = FloatVector.fromArray(F, lv, 3 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 3 * k + e + 16).fma(x1, p);
            c3 = p.fma(FloatVector.broadcast(F, sc[3 * nb + b]), c3);
            p = FloatVector.fromArray(F, lv, 4 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 4 * k + e + 16).fma(x1, p);
            c4 = p.fma(FloatVector.broadcast(F, sc[4 * nb + b]), c4);
            p = FloatVector.fromArray(F, lv, 5 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 5 * k + e + 16).fma(x1, p);
            c5 = p.fma(FloatVector.broadcast(F, sc[5 * nb + b]), c5);
            p = FloatVector.fromArray(F, lv, 6 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 6 * k + e + 16).fma(x1, p);
            c6 = p.fma(FloatVector.broadcast(F, sc[6 * nb + b]), c6);
            p = FloatVector.fromArray(F, lv, 7 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 7 * k + e + 16).fma(x1, p);
            c7 = p.fma(FloatVector.broadcast(F, sc[7 * nb + b]), c7);
            p = FloatVector.fromArray(F, lv, 8 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 8 * k + e + 16).fma(x1, p);
            c8 = p.fma(FloatVector.broadcast(F, sc[8 * nb + b]), c8);
            p = FloatVector.fromArray(F, lv, 9 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 9 * k + e + 16).fma(x1, p);
            c9 = p.fma(FloatVector.broadcast(F, sc[9 * nb + b]), c9);
            p = FloatVector.fromArray(F, lv, 10 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 10 * k + e + 16).fma(x1, p);
            c10 = p.fma(FloatVector.broadcast(F, sc[10 * nb + b]), c10);
            p = FloatVector.fromArray(F, lv, 11 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 11 * k + e + 16).fma(x1, p);
            c11 = p.fma(FloatVector.broadcast(F, sc[11 * nb + b]), c11);
            p = FloatVector.fromArray(F, lv, 12 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 12 * k + e + 16).fma(x1, p);
            c12 = p.fma(FloatVector.broadcast(F, sc[12 * nb + b]), c12);
            p = FloatVector.fromArray(F, lv, 13 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 13 * k + e + 16).fma(x1, p);
            c13 = p.fma(FloatVector.broadcast(F, sc[13 * nb + b]), c13);
            p = FloatVector.fromArray(F, lv, 14 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 14 * k + e + 16).fma(x1, p);
            c14 = p.fma(FloatVector.broadcast(F, sc[14 * nb + b]), c14);
            p = FloatVector.fromArray(F, lv, 15 * k + e).mul(x0);
            p = FloatVector.fromArray(F, lv, 15 * k + e + 16).fma(x1, p);
            c15 = p.fma(FloatVector.broadcast(F, sc[15 * nb + b]), c15);
        }
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
    }

    /** The scalar reference: the sequence of the class comment, one element at a time, single-threaded. */
    public static void matmulReference(float[] x, int xOff, int m, QuantizedTensor w, float[] y, int yOff) {
        int k = w.cols();
        int n = w.rows();
        if (!w.format().isBlockQuantized()) {
            float[] wd = w.dequantize().toFloatArray();
            DotGemm.reference(m, n, k, x, xOff, k, wd, 0, k, null, 0, y, yOff, n);
            return;
        }
        float[] acc = new float[L];
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) y[yOff + i * n + j] = blockDotReference(w, j, acc, x, xOff + i * k);
        }
    }

    private static float blockDotReference(QuantizedTensor w, int j, float[] acc, float[] x, int xo) {
        int k = w.cols();
        Arrays.fill(acc, 0f);
        long at = j * w.rowBytes();
        for (int b = 0; b < k / QK; b++, at += w.format().blockBytes()) {
            float d = Float16s.fromF16(w.data().get(I16_LE, at));
            for (int l = 0; l < L; l++) {
                float p = 0;
                for (int c = 0; c < QK; c += L) {
                    int e = b * QK + c + l;
                    float q = levelReference(w, at, c + l);
                    p = c == 0 ? q * x[xo + e] : Math.fma(q, x[xo + e], p);
                }
                acc[l] = Math.fma(p, d, acc[l]);
            }
        }
        for (int h = L / 2; h >= 1; h /= 2) {
            for (int l = 0; l < h; l++) acc[l] += acc[l + h];
        }
        return acc[0];
    }

    /** The integer level of value {@code e} of the block at {@code at}: q for Q8_0, nibble - 8 for Q4_0. */
    private static float levelReference(QuantizedTensor w, long at, int e) {
        MemorySegment s = w.data();
        if (w.format() == QuantFormat.Q8_0) return s.get(ValueLayout.JAVA_BYTE, at + 2 + e);
        int packed = s.get(ValueLayout.JAVA_BYTE, at + 2 + e % (QK / 2)) & 0xff;
        return (e < QK / 2 ? packed & 0x0f : packed >>> 4) - 8;
    }

    private static void check(int lenX, int xOff, int m, int k, int lenY, int yOff, int n) {
        if (m < 0 || xOff < 0 || yOff < 0 || (long) xOff + (long) m * k > lenX || (long) yOff + (long) m * n > lenY) {
            throw new ShapeException("quantized matmul", "arrays too short or negative sizes: m=" + m + " n=" + n + " k="
                    + k + " (x " + lenX + " from " + xOff + ", y " + lenY + " from " + yOff + ")");
        }
    }
}
