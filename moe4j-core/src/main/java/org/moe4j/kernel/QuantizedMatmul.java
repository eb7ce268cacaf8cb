package org.moe4j.kernel;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHR;

import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;

/**
 * {@code y[m, n] = x[m, k] · W[n, k]ᵀ} with W quantized ({@link PackedWeight}) and x, y float32: the decode-time
 * matmul, which streams each weight byte once per token.
 *
 * <p>Every output element is {@link DotGemm}'s definition on the decoded weights: one fixed sequence whatever m, the
 * tiling or the thread count, so a token's result is the same alone or in any batch, and equals decoding the matrix
 * and running {@link DotGemm} bit for bit. A block format's weight {@code q · d} (an int8 or 4-bit level times the
 * block's f16 scale) is exact in float32, so decoding loses nothing; a K-quant's weight is formed by ggml's float
 * operations in ggml's order ({@link PackedWeight} lists them), so it is ggml's value bit for bit. {@link
 * #matmulReference} is that definition.
 *
 * <p>The fast path reads the block formats a tile at a time ({@link PackedWeight}): one x row meets the tile's 8
 * weight rows, whose levels lie in one contiguous run, decoding each chunk of 16 levels in registers, and the 8 lane
 * trees run side by side as a butterfly (one masked store of 8 outputs). Threads split whole tiles. For several x
 * rows (prefill) a tile is decoded once into a float panel that {@link DotGemm}'s register tiles then read. The
 * 8-row kernels are small enough for the JIT's first tier, so they run compiled from the first calls. Each format
 * has its own kernel, written out: a shared one would branch on the format inside the loop.
 */
public final class QuantizedMatmul {
    private static final VectorSpecies<Float> F = Backend.FLOATS;
    private static final int L = F.length();
    private static final int QK = 32; // values per Q8_0 / Q4_0 block
    /** Weight rows per tile of the block formats. */
    private static final int UNIT = PackedWeight.UNIT;
    /** Rows of a float format decoded at once for {@link DotGemm}'s 16-row tiles. */
    private static final int FLOAT_UNIT = 16;
    /** Bytes holding one chunk of L int8 values (null when L lanes of bytes make no vector shape). */
    private static final VectorSpecies<Byte> B = L == 8 || L == 16
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;
    /** Whether the 8-row butterfly tiles run (they assume 16 float lanes, two per 32-value block). */
    private static final boolean TILES = L == 16;
    /** Multiply-adds per thread below which a hand-off to the pool costs more than it saves. */
    private static final long MACS_PER_THREAD = 1L << 18;
    // DotGemm's lane tree, so both kernels add lanes in the same order.
    private static final VectorShuffle<Float> SWAP8 = DotGemm.SWAP8, SWAP4 = DotGemm.SWAP4, SWAP2 = DotGemm.SWAP2,
            SWAP1 = DotGemm.SWAP1;
    private static final VectorMask<Float> BIT8 = DotGemm.BIT8, BIT4 = DotGemm.BIT4, BIT2 = DotGemm.BIT2;
    /** Lane i takes lane 2i: the 8 rows' totals, which the butterfly leaves in the even lanes, to lanes 0-7. */
    private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(F, i -> 2 * i % L);
    /** For each count of real rows in a tile, the lanes of the tile's store. */
    private static final VectorMask<Float>[] STORE = stores();

    private QuantizedMatmul() {}

    @SuppressWarnings("unchecked")
    private static VectorMask<Float>[] stores() {
        VectorMask<Float>[] m = new VectorMask[UNIT + 1];
        for (int r = 0; r <= UNIT; r++) m[r] = F.indexInRange(0, r);
        return m;
    }

    /** {@code x [m, k]} (or {@code [k]}) times {@code wᵀ} for {@code w [n, k]}: {@code [m, n]} (or {@code [n]}). */
    public static Tensor matmul(Tensor x, PackedWeight w) {
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
    public static Tensor linear(Tensor x, PackedWeight w, Tensor bias) {
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

    /** Row-major {@code y[yOff..] (m × n) = x[xOff..] (m × k) · wᵀ}; threads split the weight rows in whole units. */
    public static void matmul(float[] x, int xOff, int m, PackedWeight w, float[] y, int yOff) {
        int k = w.cols(), n = w.rows();
        check(x.length, xOff, m, k, y.length, yOff, n);
        if (m == 0 || n == 0) return;
        if (!fast(w)) {
            matmulReference(x, xOff, m, w, y, yOff);
            return;
        }
        int per = units(w), groupRows = w.groupRows(), units = w.groups() * per;
        long macs = (long) m * n * Math.max(k, 1);
        int chunks = (int) Math.min(Math.min(units, Parallel.threads()), Math.max(1, macs / MACS_PER_THREAD));
        Parallel.forChunks(units, chunks, (c, from, to) -> {
            Scratch scratch = null;
            for (int u = from; u < to; ) {
                int g = u / per, end = Math.min(to, (g + 1) * per); // this group's units in the chunk
                scratch = columns(m, k, x, xOff, w, g, u - g * per, end - g * per, y, yOff + g * groupRows, n, scratch);
                u = end;
            }
        });
    }

    /**
     * Grouped product for stacked experts: {@code w} holds {@code groups} matrices of {@code n} rows ({@link
     * PackedWeight#grouped}); the rows of {@code x [rows, k]} come in groups ({@code offsets} [groups + 1], from 0 to
     * rows) and group g is multiplied by matrix g. Returns y [rows, n]. One parallel region covers every group, split
     * by multiply-adds, so a decode step pays one hand-off per projection instead of one per expert.
     */
    public static Tensor grouped(Tensor x, PackedWeight w, int[] offsets) {
        int groups = offsets.length - 1;
        if (x.rank() != 2 || x.dtype() != DType.F32 || x.dim(1) != w.cols() || groups != w.groups()
                || offsets[0] != 0 || offsets[groups] != x.dim(0)) {
            throw ShapeException.of("quantized groupedGemm", "needs float32 x [rows, in], w of " + groups + " groups"
                    + " and offsets [groups + 1] from 0 to rows (weight " + w + ")", x.shape(), w.shape(),
                    new int[] {offsets.length});
        }
        for (int g = 0; g < groups; g++) {
            if (offsets[g + 1] < offsets[g]) {
                throw ShapeException.of("quantized groupedGemm", "offsets must not decrease", new int[] {offsets.length});
            }
        }
        int n = w.groupRows(), k = w.cols(), rows = x.dim(0);
        int[] off = offsets.clone();
        Tensor y = Tensor.zeros(rows, n);
        Tensor xc = x.contiguous();
        float[] xa = xc.floats(), ya = y.floats();
        int ox = xc.offset();
        if (!fast(w)) {
            for (int g = 0; g < groups; g++) {
                if (off[g + 1] > off[g]) referenceRows(xa, ox + off[g] * k, off[g + 1] - off[g], w, g * n, n, ya, off[g] * n);
            }
            return y;
        }
        int units = units(w);
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
                if (u1 > u0) scratch = columns(rs, k, xa, ox + r0 * k, w, g, u0, u1, ya, r0 * n, n, scratch);
            }
        });
        return y;
    }

    private static int unitAt(long at, long base, int rows, int units) {
        long u = (at - base + rows - 1) / rows;
        return (int) Math.max(0, Math.min(units, u));
    }

    /** Units per group that threads split: tiles for the block formats, 16-row panels for the float formats. */
    private static int units(PackedWeight w) {
        return w.fileRows() == null ? w.tilesPerGroup() : (w.groupRows() + FLOAT_UNIT - 1) / FLOAT_UNIT;
    }

    private static boolean fast(PackedWeight w) {
        return Backend.vector() && (w.fileRows() != null || B != null);
    }

    /** A thread's decode buffer, made when first needed. */
    private static final class Scratch {
        final float[] panel; // [16, k] decoded rows (one tile of 8, or 16 rows of a float format)

        Scratch(int k) {
            this.panel = new float[FLOAT_UNIT * k];
        }
    }

    /**
     * Units [u0, u1) of group g (its rows from {@code u0 * unit}) for every x row; output row i's column j (a row of
     * the group's matrix) is {@code y[offY + i * ldy + j]}.
     */
    private static Scratch columns(int m, int k, float[] x, int offX, PackedWeight w, int g, int u0, int u1, float[] y,
            int offY, int ldy, Scratch scratch) {
        QuantFormat f = w.format();
        QuantizedTensor rows = w.fileRows();
        if (scratch == null && (m > 1 || rows != null)) scratch = new Scratch(k);
        if (rows != null) {
            // Float formats: decode each unit's rows and run DotGemm's tiles on them, which is DotGemm's definition.
            int n = w.groupRows(), base = g * n;
            for (int u = u0; u < u1; u++) {
                int j = u * FLOAT_UNIT, r = Math.min(FLOAT_UNIT, n - j);
                for (int t = 0; t < r; t++) rows.dequantizeRow(base + j + t, scratch.panel, t * k);
                DotGemm.columns(m, k, x, offX, k, scratch.panel, 0, k, null, 0, y, offY + j, ldy, 0, r);
            }
            return scratch;
        }
        float[] sc = w.scales();
        short[] hs = w.halfScales();
        for (int u = u0; u < u1; u++) {
            int tile = g * w.tilesPerGroup() + u, j = w.tileFirstRow(tile), tileRows = w.tileRows(tile);
            byte[] q = w.slab(tile);
            int at = w.tileOffset(tile), si = w.scaleOffset(tile);
            if (!TILES) {
                for (int i = 0; i < m; i++) {
                    for (int r = 0; r < tileRows; r++) {
                        y[offY + i * ldy + j + r] = dot1(f, k, x, offX + i * k, q, at, sc, hs, si, r);
                    }
                }
            } else if (m == 1) {
                switch (f) {
                    case Q8_0 -> q8x8(k, x, offX, q, at, hs, si, y, offY + j, STORE[tileRows]);
                    case Q4_0 -> q4x8(k, x, offX, q, at, hs, si, y, offY + j, STORE[tileRows]);
                    case Q3_K, Q6_K -> q6kx8(k, x, offX, q, at, sc, si, y, offY + j, STORE[tileRows]);
                    case Q5_K -> q5kx8(k, x, offX, q, at, sc, si, y, offY + j, STORE[tileRows]);
                    default -> q4kx8(k, x, offX, q, at, sc, si, y, offY + j, STORE[tileRows]);
                }
            } else {
                decodeTile(f, k, q, at, sc, hs, si, scratch.panel);
                DotGemm.columns(m, k, x, offX, k, scratch.panel, 0, k, null, 0, y, offY + j, ldy, 0, tileRows);
            }
        }
        return scratch;
    }

    /** A tile's rows decoded (each weight exactly the file's value) into {@code panel} as rows [8, k]. */
    private static void decodeTile(QuantFormat f, int k, byte[] q, int at, float[] sc, short[] hs, int si,
            float[] panel) {
        int lb = PackedWeight.levelBytes(f), fb = PackedWeight.factorsPerBlock(f);
        for (int b = 0; b < k / QK; b++) {
            for (int r = 0; r < UNIT; r++, at += lb) {
                int s = si + (b * UNIT + r) * fb, e = r * k + b * QK;
                for (int c = 0; c < QK; c += L) weights(f, q, at, c, sc, hs, s).intoArray(panel, e + c);
            }
        }
    }

    /**
     * The L weights from value c of one row's 32-value block (its levels at {@code at}, its factors at {@code s} in
     * {@code sc} or {@code hs}), as {@link PackedWeight} defines them.
     */
    private static FloatVector weights(QuantFormat f, byte[] q, int at, int c, float[] sc, short[] hs, int s) {
        FloatVector level;
        if (PackedWeight.levelBytes(f) == QK) {
            level = (FloatVector) ByteVector.fromArray(B, q, at + c).convertShape(B2F, F, 0);
        } else {
            ByteVector packed = ByteVector.fromArray(B, q, at + c % (QK / 2));
            ByteVector nibble = c < QK / 2 ? packed.and((byte) 0x0f) : packed.lanewise(LSHR, 4);
            level = (FloatVector) (f == QuantFormat.Q4_0 ? nibble.sub((byte) 8) : nibble).convertShape(B2F, F, 0);
        }
        return switch (f) {
            case Q3_K, Q6_K -> level.mul(sc[s + c / (QK / 2)]);
            case Q4_K, Q5_K -> level.mul(sc[s]).sub(sc[s + 1]);
            default -> level.mul(Float.float16ToFloat(hs[s]));
        };
    }

    /** One element of a block format with any lane count L (8 or 16): row r of the tile at {@code at}, as {@link DotGemm}. */
    private static float dot1(QuantFormat f, int k, float[] x, int xo, byte[] q, int at, float[] sc, short[] hs, int si,
            int r) {
        FloatVector acc = FloatVector.zero(F);
        int lb = PackedWeight.levelBytes(f), fb = PackedWeight.factorsPerBlock(f);
        for (int b = 0; b < k / QK; b++) {
            int row = at + (b * UNIT + r) * lb, xb = xo + b * QK, s = si + (b * UNIT + r) * fb;
            for (int c = 0; c < QK; c += L) {
                acc = weights(f, q, row, c, sc, hs, s).fma(FloatVector.fromArray(F, x, xb + c), acc);
            }
        }
        return DotGemm.tree(acc);
    }

    /**
     * One x row against one Q8_0 tile ({@code at} in {@code q}, f16 scales from {@code si}): each chunk of 16 levels
     * becomes weights {@code q * d} (exact), which meet x as in {@link DotGemm}, and the 8 rows' lane trees run as
     * a butterfly.
     */
    private static void q8x8(int k, float[] x, int xi, byte[] q, int at, short[] hs, int si, float[] y, int yi,
            VectorMask<Float> valid) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        for (int e = xi, end = xi + k; e < end; e += QK, at += UNIT * QK, si += UNIT) {
            FloatVector x0 = FloatVector.fromArray(F, x, e), x1 = FloatVector.fromArray(F, x, e + 16);
            FloatVector d;
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si]));
            c0 = ((FloatVector) ByteVector.fromArray(B, q, at).convertShape(B2F, F, 0)).mul(d).fma(x0, c0);
            c0 = ((FloatVector) ByteVector.fromArray(B, q, at + 16).convertShape(B2F, F, 0)).mul(d).fma(x1, c0);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 1]));
            c1 = ((FloatVector) ByteVector.fromArray(B, q, at + 32).convertShape(B2F, F, 0)).mul(d).fma(x0, c1);
            c1 = ((FloatVector) ByteVector.fromArray(B, q, at + 32 + 16).convertShape(B2F, F, 0)).mul(d).fma(x1, c1);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 2]));
            c2 = ((FloatVector) ByteVector.fromArray(B, q, at + 64).convertShape(B2F, F, 0)).mul(d).fma(x0, c2);
            c2 = ((FloatVector) ByteVector.fromArray(B, q, at + 64 + 16).convertShape(B2F, F, 0)).mul(d).fma(x1, c2);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 3]));
            c3 = ((FloatVector) ByteVector.fromArray(B, q, at + 96).convertShape(B2F, F, 0)).mul(d).fma(x0, c3);
            c3 = ((FloatVector) ByteVector.fromArray(B, q, at + 96 + 16).convertShape(B2F, F, 0)).mul(d).fma(x1, c3);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 4]));
            c4 = ((FloatVector) ByteVector.fromArray(B, q, at + 128).convertShape(B2F, F, 0)).mul(d).fma(x0, c4);
            c4 = ((FloatVector) ByteVector.fromArray(B, q, at + 128 + 16).convertShape(B2F, F, 0)).mul(d).fma(x1, c4);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 5]));
            c5 = ((FloatVector) ByteVector.fromArray(B, q, at + 160).convertShape(B2F, F, 0)).mul(d).fma(x0, c5);
            c5 = ((FloatVector) ByteVector.fromArray(B, q, at + 160 + 16).convertShape(B2F, F, 0)).mul(d).fma(x1, c5);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 6]));
            c6 = ((FloatVector) ByteVector.fromArray(B, q, at + 192).convertShape(B2F, F, 0)).mul(d).fma(x0, c6);
            c6 = ((FloatVector) ByteVector.fromArray(B, q, at + 192 + 16).convertShape(B2F, F, 0)).mul(d).fma(x1, c6);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 7]));
            c7 = ((FloatVector) ByteVector.fromArray(B, q, at + 224).convertShape(B2F, F, 0)).mul(d).fma(x0, c7);
            c7 = ((FloatVector) ByteVector.fromArray(B, q, at + 224 + 16).convertShape(B2F, F, 0)).mul(d).fma(x1, c7);
        }
        // Level 8 pairs rows r and r + 4, level 4 the results r and r + 2, level 2 r and r + 1; then each pair of
        // lanes holds one row's last two partial sums. Written out: a helper taking vectors may be compiled apart and
        // box them.
        FloatVector r0 = c0.blend(c4, BIT8).add(c4.blend(c0, BIT8).rearrange(SWAP8));
        FloatVector r1 = c1.blend(c5, BIT8).add(c5.blend(c1, BIT8).rearrange(SWAP8));
        FloatVector r2 = c2.blend(c6, BIT8).add(c6.blend(c2, BIT8).rearrange(SWAP8));
        FloatVector r3 = c3.blend(c7, BIT8).add(c7.blend(c3, BIT8).rearrange(SWAP8));
        r0 = r0.blend(r2, BIT4).add(r2.blend(r0, BIT4).rearrange(SWAP4));
        r1 = r1.blend(r3, BIT4).add(r3.blend(r1, BIT4).rearrange(SWAP4));
        r0 = r0.blend(r1, BIT2).add(r1.blend(r0, BIT2).rearrange(SWAP2));
        r0 = r0.add(r0.rearrange(SWAP1));
        r0.rearrange(EVEN).intoArray(y, yi, valid);
    }

    /** As {@link #q8x8} for Q4_0: one 16-byte load per block and row gives both nibble halves. */
    private static void q4x8(int k, float[] x, int xi, byte[] q, int at, short[] hs, int si, float[] y, int yi,
            VectorMask<Float> valid) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        for (int e = xi, end = xi + k; e < end; e += QK, at += UNIT * QK / 2, si += UNIT) {
            FloatVector x0 = FloatVector.fromArray(F, x, e), x1 = FloatVector.fromArray(F, x, e + 16);
            FloatVector d;
            ByteVector v;
            v = ByteVector.fromArray(B, q, at);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si]));
            c0 = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x0, c0);
            c0 = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x1, c0);
            v = ByteVector.fromArray(B, q, at + 16);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 1]));
            c1 = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x0, c1);
            c1 = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x1, c1);
            v = ByteVector.fromArray(B, q, at + 32);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 2]));
            c2 = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x0, c2);
            c2 = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x1, c2);
            v = ByteVector.fromArray(B, q, at + 48);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 3]));
            c3 = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x0, c3);
            c3 = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x1, c3);
            v = ByteVector.fromArray(B, q, at + 64);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 4]));
            c4 = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x0, c4);
            c4 = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x1, c4);
            v = ByteVector.fromArray(B, q, at + 80);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 5]));
            c5 = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x0, c5);
            c5 = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x1, c5);
            v = ByteVector.fromArray(B, q, at + 96);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 6]));
            c6 = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x0, c6);
            c6 = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x1, c6);
            v = ByteVector.fromArray(B, q, at + 112);
            d = FloatVector.broadcast(F, Float.float16ToFloat(hs[si + 7]));
            c7 = ((FloatVector) v.and((byte) 0x0f).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x0, c7);
            c7 = ((FloatVector) v.lanewise(LSHR, 4).sub((byte) 8).convertShape(B2F, F, 0)).mul(d).fma(x1, c7);
        }
        // Level 8 pairs rows r and r + 4, level 4 the results r and r + 2, level 2 r and r + 1; then each pair of
        // lanes holds one row's last two partial sums. Written out: a helper taking vectors may be compiled apart and
        // box them.
        FloatVector r0 = c0.blend(c4, BIT8).add(c4.blend(c0, BIT8).rearrange(SWAP8));
        FloatVector r1 = c1.blend(c5, BIT8).add(c5.blend(c1, BIT8).rearrange(SWAP8));
        FloatVector r2 = c2.blend(c6, BIT8).add(c6.blend(c2, BIT8).rearrange(SWAP8));
        FloatVector r3 = c3.blend(c7, BIT8).add(c7.blend(c3, BIT8).rearrange(SWAP8));
        r0 = r0.blend(r2, BIT4).add(r2.blend(r0, BIT4).rearrange(SWAP4));
        r1 = r1.blend(r3, BIT4).add(r3.blend(r1, BIT4).rearrange(SWAP4));
        r0 = r0.blend(r1, BIT2).add(r1.blend(r0, BIT2).rearrange(SWAP2));
        r0 = r0.add(r0.rearrange(SWAP1));
        r0.rearrange(EVEN).intoArray(y, yi, valid);
    }


    /** As {@link #q8x8} for Q6_K and Q3_K: int8 levels, and a factor {@code d * sc} for each 16 of them. */
    private static void q6kx8(int k, float[] x, int xi, byte[] q, int at, float[] sc, int si, float[] y, int yi,
            VectorMask<Float> valid) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        for (int e = xi, end = xi + k; e < end; e += QK, at += UNIT * QK, si += 2 * UNIT) {
            FloatVector x0 = FloatVector.fromArray(F, x, e), x1 = FloatVector.fromArray(F, x, e + 16);
            c0 = ((FloatVector) ByteVector.fromArray(B, q, at).convertShape(B2F, F, 0)).mul(sc[si]).fma(x0, c0);
            c0 = ((FloatVector) ByteVector.fromArray(B, q, at + 16).convertShape(B2F, F, 0)).mul(sc[si + 1])
                    .fma(x1, c0);
            c1 = ((FloatVector) ByteVector.fromArray(B, q, at + 32).convertShape(B2F, F, 0)).mul(sc[si + 2]).fma(x0, c1);
            c1 = ((FloatVector) ByteVector.fromArray(B, q, at + 32 + 16).convertShape(B2F, F, 0)).mul(sc[si + 3])
                    .fma(x1, c1);
            c2 = ((FloatVector) ByteVector.fromArray(B, q, at + 64).convertShape(B2F, F, 0)).mul(sc[si + 4]).fma(x0, c2);
            c2 = ((FloatVector) ByteVector.fromArray(B, q, at + 64 + 16).convertShape(B2F, F, 0)).mul(sc[si + 5])
                    .fma(x1, c2);
            c3 = ((FloatVector) ByteVector.fromArray(B, q, at + 96).convertShape(B2F, F, 0)).mul(sc[si + 6]).fma(x0, c3);
            c3 = ((FloatVector) ByteVector.fromArray(B, q, at + 96 + 16).convertShape(B2F, F, 0)).mul(sc[si + 7])
                    .fma(x1, c3);
            c4 = ((FloatVector) ByteVector.fromArray(B, q, at + 128).convertShape(B2F, F, 0)).mul(sc[si + 8]).fma(x0, c4);
            c4 = ((FloatVector) ByteVector.fromArray(B, q, at + 128 + 16).convertShape(B2F, F, 0)).mul(sc[si + 9])
                    .fma(x1, c4);
            c5 = ((FloatVector) ByteVector.fromArray(B, q, at + 160).convertShape(B2F, F, 0)).mul(sc[si + 10]).fma(x0, c5);
            c5 = ((FloatVector) ByteVector.fromArray(B, q, at + 160 + 16).convertShape(B2F, F, 0)).mul(sc[si + 11])
                    .fma(x1, c5);
            c6 = ((FloatVector) ByteVector.fromArray(B, q, at + 192).convertShape(B2F, F, 0)).mul(sc[si + 12]).fma(x0, c6);
            c6 = ((FloatVector) ByteVector.fromArray(B, q, at + 192 + 16).convertShape(B2F, F, 0)).mul(sc[si + 13])
                    .fma(x1, c6);
            c7 = ((FloatVector) ByteVector.fromArray(B, q, at + 224).convertShape(B2F, F, 0)).mul(sc[si + 14]).fma(x0, c7);
            c7 = ((FloatVector) ByteVector.fromArray(B, q, at + 224 + 16).convertShape(B2F, F, 0)).mul(sc[si + 15])
                    .fma(x1, c7);
        }
        // Level 8 pairs rows r and r + 4, level 4 the results r and r + 2, level 2 r and r + 1; then each pair of
        // lanes holds one row's last two partial sums. Written out: a helper taking vectors may be compiled apart and
        // box them.
        FloatVector r0 = c0.blend(c4, BIT8).add(c4.blend(c0, BIT8).rearrange(SWAP8));
        FloatVector r1 = c1.blend(c5, BIT8).add(c5.blend(c1, BIT8).rearrange(SWAP8));
        FloatVector r2 = c2.blend(c6, BIT8).add(c6.blend(c2, BIT8).rearrange(SWAP8));
        FloatVector r3 = c3.blend(c7, BIT8).add(c7.blend(c3, BIT8).rearrange(SWAP8));
        r0 = r0.blend(r2, BIT4).add(r2.blend(r0, BIT4).rearrange(SWAP4));
        r1 = r1.blend(r3, BIT4).add(r3.blend(r1, BIT4).rearrange(SWAP4));
        r0 = r0.blend(r1, BIT2).add(r1.blend(r0, BIT2).rearrange(SWAP2));
        r0 = r0.add(r0.rearrange(SWAP1));
        r0.rearrange(EVEN).intoArray(y, yi, valid);
    }

    /** As {@link #q6kx8} for Q5_K: byte levels 0-31, and factors {@code d * sc}, {@code dmin * m} per 32 of them. */
    private static void q5kx8(int k, float[] x, int xi, byte[] q, int at, float[] sc, int si, float[] y, int yi,
            VectorMask<Float> valid) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        for (int e = xi, end = xi + k; e < end; e += QK, at += UNIT * QK, si += 2 * UNIT) {
            FloatVector x0 = FloatVector.fromArray(F, x, e), x1 = FloatVector.fromArray(F, x, e + 16);
            float d, m;
            d = sc[si];
            m = sc[si + 1];
            c0 = ((FloatVector) ByteVector.fromArray(B, q, at).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c0);
            c0 = ((FloatVector) ByteVector.fromArray(B, q, at + 16).convertShape(B2F, F, 0)).mul(d).sub(m)
                    .fma(x1, c0);
            d = sc[si + 2];
            m = sc[si + 3];
            c1 = ((FloatVector) ByteVector.fromArray(B, q, at + 32).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c1);
            c1 = ((FloatVector) ByteVector.fromArray(B, q, at + 32 + 16).convertShape(B2F, F, 0)).mul(d).sub(m)
                    .fma(x1, c1);
            d = sc[si + 4];
            m = sc[si + 5];
            c2 = ((FloatVector) ByteVector.fromArray(B, q, at + 64).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c2);
            c2 = ((FloatVector) ByteVector.fromArray(B, q, at + 64 + 16).convertShape(B2F, F, 0)).mul(d).sub(m)
                    .fma(x1, c2);
            d = sc[si + 6];
            m = sc[si + 7];
            c3 = ((FloatVector) ByteVector.fromArray(B, q, at + 96).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c3);
            c3 = ((FloatVector) ByteVector.fromArray(B, q, at + 96 + 16).convertShape(B2F, F, 0)).mul(d).sub(m)
                    .fma(x1, c3);
            d = sc[si + 8];
            m = sc[si + 9];
            c4 = ((FloatVector) ByteVector.fromArray(B, q, at + 128).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c4);
            c4 = ((FloatVector) ByteVector.fromArray(B, q, at + 128 + 16).convertShape(B2F, F, 0)).mul(d).sub(m)
                    .fma(x1, c4);
            d = sc[si + 10];
            m = sc[si + 11];
            c5 = ((FloatVector) ByteVector.fromArray(B, q, at + 160).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c5);
            c5 = ((FloatVector) ByteVector.fromArray(B, q, at + 160 + 16).convertShape(B2F, F, 0)).mul(d).sub(m)
                    .fma(x1, c5);
            d = sc[si + 12];
            m = sc[si + 13];
            c6 = ((FloatVector) ByteVector.fromArray(B, q, at + 192).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c6);
            c6 = ((FloatVector) ByteVector.fromArray(B, q, at + 192 + 16).convertShape(B2F, F, 0)).mul(d).sub(m)
                    .fma(x1, c6);
            d = sc[si + 14];
            m = sc[si + 15];
            c7 = ((FloatVector) ByteVector.fromArray(B, q, at + 224).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c7);
            c7 = ((FloatVector) ByteVector.fromArray(B, q, at + 224 + 16).convertShape(B2F, F, 0)).mul(d).sub(m)
                    .fma(x1, c7);
        }
        // Level 8 pairs rows r and r + 4, level 4 the results r and r + 2, level 2 r and r + 1; then each pair of
        // lanes holds one row's last two partial sums. Written out: a helper taking vectors may be compiled apart and
        // box them.
        FloatVector r0 = c0.blend(c4, BIT8).add(c4.blend(c0, BIT8).rearrange(SWAP8));
        FloatVector r1 = c1.blend(c5, BIT8).add(c5.blend(c1, BIT8).rearrange(SWAP8));
        FloatVector r2 = c2.blend(c6, BIT8).add(c6.blend(c2, BIT8).rearrange(SWAP8));
        FloatVector r3 = c3.blend(c7, BIT8).add(c7.blend(c3, BIT8).rearrange(SWAP8));
        r0 = r0.blend(r2, BIT4).add(r2.blend(r0, BIT4).rearrange(SWAP4));
        r1 = r1.blend(r3, BIT4).add(r3.blend(r1, BIT4).rearrange(SWAP4));
        r0 = r0.blend(r1, BIT2).add(r1.blend(r0, BIT2).rearrange(SWAP2));
        r0 = r0.add(r0.rearrange(SWAP1));
        r0.rearrange(EVEN).intoArray(y, yi, valid);
    }

    /** As {@link #q4x8} for Q4_K: nibble levels without an offset, and factors {@code d * sc}, {@code dmin * m}. */
    private static void q4kx8(int k, float[] x, int xi, byte[] q, int at, float[] sc, int si, float[] y, int yi,
            VectorMask<Float> valid) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        for (int e = xi, end = xi + k; e < end; e += QK, at += UNIT * QK / 2, si += 2 * UNIT) {
            FloatVector x0 = FloatVector.fromArray(F, x, e), x1 = FloatVector.fromArray(F, x, e + 16);
            ByteVector v;
            float d, m;
            v = ByteVector.fromArray(B, q, at);
            d = sc[si];
            m = sc[si + 1];
            c0 = ((FloatVector) v.and((byte) 0x0f).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c0);
            c0 = ((FloatVector) v.lanewise(LSHR, 4).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x1, c0);
            v = ByteVector.fromArray(B, q, at + 16);
            d = sc[si + 2];
            m = sc[si + 3];
            c1 = ((FloatVector) v.and((byte) 0x0f).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c1);
            c1 = ((FloatVector) v.lanewise(LSHR, 4).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x1, c1);
            v = ByteVector.fromArray(B, q, at + 32);
            d = sc[si + 4];
            m = sc[si + 5];
            c2 = ((FloatVector) v.and((byte) 0x0f).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c2);
            c2 = ((FloatVector) v.lanewise(LSHR, 4).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x1, c2);
            v = ByteVector.fromArray(B, q, at + 48);
            d = sc[si + 6];
            m = sc[si + 7];
            c3 = ((FloatVector) v.and((byte) 0x0f).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c3);
            c3 = ((FloatVector) v.lanewise(LSHR, 4).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x1, c3);
            v = ByteVector.fromArray(B, q, at + 64);
            d = sc[si + 8];
            m = sc[si + 9];
            c4 = ((FloatVector) v.and((byte) 0x0f).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c4);
            c4 = ((FloatVector) v.lanewise(LSHR, 4).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x1, c4);
            v = ByteVector.fromArray(B, q, at + 80);
            d = sc[si + 10];
            m = sc[si + 11];
            c5 = ((FloatVector) v.and((byte) 0x0f).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c5);
            c5 = ((FloatVector) v.lanewise(LSHR, 4).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x1, c5);
            v = ByteVector.fromArray(B, q, at + 96);
            d = sc[si + 12];
            m = sc[si + 13];
            c6 = ((FloatVector) v.and((byte) 0x0f).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c6);
            c6 = ((FloatVector) v.lanewise(LSHR, 4).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x1, c6);
            v = ByteVector.fromArray(B, q, at + 112);
            d = sc[si + 14];
            m = sc[si + 15];
            c7 = ((FloatVector) v.and((byte) 0x0f).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x0, c7);
            c7 = ((FloatVector) v.lanewise(LSHR, 4).convertShape(B2F, F, 0)).mul(d).sub(m).fma(x1, c7);
        }
        // Level 8 pairs rows r and r + 4, level 4 the results r and r + 2, level 2 r and r + 1; then each pair of
        // lanes holds one row's last two partial sums. Written out: a helper taking vectors may be compiled apart and
        // box them.
        FloatVector r0 = c0.blend(c4, BIT8).add(c4.blend(c0, BIT8).rearrange(SWAP8));
        FloatVector r1 = c1.blend(c5, BIT8).add(c5.blend(c1, BIT8).rearrange(SWAP8));
        FloatVector r2 = c2.blend(c6, BIT8).add(c6.blend(c2, BIT8).rearrange(SWAP8));
        FloatVector r3 = c3.blend(c7, BIT8).add(c7.blend(c3, BIT8).rearrange(SWAP8));
        r0 = r0.blend(r2, BIT4).add(r2.blend(r0, BIT4).rearrange(SWAP4));
        r1 = r1.blend(r3, BIT4).add(r3.blend(r1, BIT4).rearrange(SWAP4));
        r0 = r0.blend(r1, BIT2).add(r1.blend(r0, BIT2).rearrange(SWAP2));
        r0 = r0.add(r0.rearrange(SWAP1));
        r0.rearrange(EVEN).intoArray(y, yi, valid);
    }

    /** The scalar reference: the decoded weights through {@link DotGemm#reference}, single-threaded. */
    public static void matmulReference(float[] x, int xOff, int m, PackedWeight w, float[] y, int yOff) {
        referenceRows(x, xOff, m, w, 0, w.rows(), y, yOff);
    }

    /** The reference for weight rows [row0, row0 + n) only: {@code y (m × n)}. */
    private static void referenceRows(float[] x, int xOff, int m, PackedWeight w, int row0, int n, float[] y, int yOff) {
        int k = w.cols();
        float[] wd = new float[Math.multiplyExact(n, k)];
        for (int j = 0; j < n; j++) w.dequantizeRow(row0 + j, wd, j * k);
        DotGemm.reference(m, n, k, x, xOff, k, wd, 0, k, null, 0, y, yOff, n);
    }

    private static void check(int lenX, int xOff, int m, int k, int lenY, int yOff, int n) {
        if (m < 0 || xOff < 0 || yOff < 0 || (long) xOff + (long) m * k > lenX || (long) yOff + (long) m * n > lenY) {
            throw new ShapeException("quantized matmul", "arrays too short or negative sizes: m=" + m + " n=" + n + " k="
                    + k + " (x " + lenX + " from " + xOff + ", y " + lenY + " from " + yOff + ")");
        }
    }
}
