package org.moe4j.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Float16s;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Tensor;

/**
 * {@code y[m, n] = x[m, k] · W[n, k]ᵀ} with W kept in its file format ({@link QuantizedTensor}) and x, y float32:
 * the decode-time matmul, which streams each weight byte once per token.
 *
 * <p>Every output element is one fixed sequence, whatever m, the tiling or the thread count: element j of a row goes
 * to lane {@code j % L} (L = {@link Backend#FLOATS} lanes). For block formats each lane first forms its block partial
 * {@code p = q0·x0}, then {@code p = fma(q, x, p)} over the block's later chunks, and then {@code acc = fma(p, d, acc)}
 * with the block's scale d; for float formats {@code acc = fma(w, x, acc)} per chunk. The lanes are then added in
 * lane order ({@link VectorMath#sumLanes}), and a float row's tail (k mod L) after them. {@link #matmulReference}
 * spells out exactly this sequence in scalar code, so the fast path must equal it bit for bit.
 */
public final class QuantizedMatmul {
    private static final VectorSpecies<Float> F = Backend.FLOATS;
    private static final int L = F.length();
    private static final int QK = 32; // values per Q8_0 / Q4_0 block
    /** Bytes holding one chunk of L int8 values (null when L lanes of bytes make no vector shape). */
    private static final VectorSpecies<Byte> B = L == 8 || L == 16
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int GRAIN_MACS = 1 << 15; // multiply-adds per chunk of work, at least

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

    /** Row-major {@code y[yOff..] (m × n) = x[xOff..] (m × k) · wᵀ}; threaded over the weight rows. */
    public static void matmul(float[] x, int xOff, int m, QuantizedTensor w, float[] y, int yOff) {
        if (!Backend.vector() || (w.format().isBlockQuantized() && B == null)) {
            matmulReference(x, xOff, m, w, y, yOff);
            return;
        }
        int k = w.cols();
        int n = w.rows();
        long macsPerRow = Math.max(1L, (long) k * m);
        int grain = (int) Math.max(1, Math.min(n, GRAIN_MACS / macsPerRow));
        Parallel.forRange(n, grain, (from, to) -> {
            float[] decoded = w.format() == QuantFormat.F16 || w.format() == QuantFormat.BF16 ? new float[k] : null;
            MemorySegment data = w.data();
            long rowBytes = w.rowBytes();
            for (int j = from; j < to; j++) {
                long at = j * rowBytes;
                if (decoded != null) w.dequantizeRow(j, decoded, 0);
                for (int i = 0; i < m; i++) {
                    int xo = xOff + i * k;
                    float v = switch (w.format()) {
                        case Q8_0 -> dotQ8(data, at, x, xo, k);
                        case Q4_0 -> dotQ4(data, at, x, xo, k);
                        case F32 -> dotF32(data, at, x, xo, k);
                        case F16, BF16 -> dotFloats(decoded, x, xo, k);
                    };
                    y[yOff + i * n + j] = v;
                }
            }
        });
    }

    private static float dotQ8(MemorySegment w, long at, float[] x, int xo, int k) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < k / QK; b++, at += 34) {
            float d = Float.float16ToFloat(w.get(I16_LE, at));
            int xb = xo + b * QK;
            // the first chunk outside the loop: a vector that may be null could not stay in a register
            FloatVector p = q8(w, at, 0).mul(FloatVector.fromArray(F, x, xb));
            for (int c = L; c < QK; c += L) p = q8(w, at, c).fma(FloatVector.fromArray(F, x, xb + c), p);
            acc = p.fma(FloatVector.broadcast(F, d), acc);
        }
        return VectorMath.sumLanes(acc);
    }

    private static float dotQ4(MemorySegment w, long at, float[] x, int xo, int k) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < k / QK; b++, at += 18) {
            float d = Float.float16ToFloat(w.get(I16_LE, at));
            int xb = xo + b * QK;
            FloatVector p = q4(w, at, 0).mul(FloatVector.fromArray(F, x, xb));
            for (int c = L; c < QK; c += L) p = q4(w, at, c).fma(FloatVector.fromArray(F, x, xb + c), p);
            acc = p.fma(FloatVector.broadcast(F, d), acc);
        }
        return VectorMath.sumLanes(acc);
    }

    /** Chunk c (L values) of the Q8_0 block at {@code at}, as floats. Small enough to inline. */
    private static FloatVector q8(MemorySegment w, long at, int c) {
        return (FloatVector) ByteVector.fromMemorySegment(B, w, at + 2 + c, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2F, F, 0);
    }

    /** Chunk c of the Q4_0 block at {@code at}: low nibbles of bytes [c, c + L) below 16, high nibbles of [c - 16, ...) after. */
    private static FloatVector q4(MemorySegment w, long at, int c) {
        ByteVector packed = ByteVector.fromMemorySegment(B, w, at + 2 + c % (QK / 2), ByteOrder.LITTLE_ENDIAN);
        ByteVector nib = c < QK / 2 ? packed.and((byte) 0x0f) : packed.lanewise(VectorOperators.LSHR, 4);
        return (FloatVector) nib.sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
    }

    private static float dotF32(MemorySegment w, long at, float[] x, int xo, int k) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(k); i < upper; i += L) {
            FloatVector wv = FloatVector.fromMemorySegment(F, w, at + 4L * i, ByteOrder.LITTLE_ENDIAN);
            acc = wv.fma(FloatVector.fromArray(F, x, xo + i), acc);
        }
        float s = VectorMath.sumLanes(acc);
        for (; i < k; i++) s = Math.fma(w.get(F32_LE, at + 4L * i), x[xo + i], s);
        return s;
    }

    private static float dotFloats(float[] w, float[] x, int xo, int k) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(k); i < upper; i += L) {
            acc = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, xo + i), acc);
        }
        float s = VectorMath.sumLanes(acc);
        for (; i < k; i++) s = Math.fma(w[i], x[xo + i], s);
        return s;
    }

    /** The scalar reference: the sequence of the class comment, one element at a time, single-threaded. */
    public static void matmulReference(float[] x, int xOff, int m, QuantizedTensor w, float[] y, int yOff) {
        int k = w.cols();
        int n = w.rows();
        float[] row = new float[k];
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) y[yOff + i * n + j] = dotReference(w, j, row, x, xOff + i * k);
        }
    }

    private static float dotReference(QuantizedTensor w, int j, float[] row, float[] x, int xo) {
        int k = w.cols();
        float[] acc = new float[L];
        float tail = 0;
        boolean blocks = w.format().isBlockQuantized();
        w.dequantizeRow(j, row, 0); // exact: the integer levels and (for blocks) the scale are recovered below
        if (blocks) {
            long at = j * w.rowBytes();
            for (int b = 0; b < k / QK; b++, at += w.format().blockBytes()) {
                float d = Float16s.fromF16(w.data().get(I16_LE, at));
                for (int l = 0; l < L; l++) {
                    float p = 0;
                    for (int c = 0; c < QK; c += L) {
                        int e = b * QK + c + l;
                        float q = level(w, at, c + l);
                        p = c == 0 ? q * x[xo + e] : Math.fma(q, x[xo + e], p);
                    }
                    acc[l] = Math.fma(p, d, acc[l]);
                }
            }
        } else {
            int full = k - k % L;
            for (int i = 0; i < full; i++) acc[i % L] = Math.fma(row[i], x[xo + i], acc[i % L]);
            for (int i = full; i < k; i++) tail = Math.fma(row[i], x[xo + i], i == full ? sum(acc) : tail);
            if (full < k) return tail;
        }
        return sum(acc);
    }

    /** The integer level of value {@code e} of the block at {@code at}: q for Q8_0, nibble - 8 for Q4_0. */
    private static float level(QuantizedTensor w, long at, int e) {
        MemorySegment s = w.data();
        if (w.format() == QuantFormat.Q8_0) return s.get(ValueLayout.JAVA_BYTE, at + 2 + e);
        int packed = s.get(ValueLayout.JAVA_BYTE, at + 2 + e % (QK / 2)) & 0xff;
        return (e < QK / 2 ? packed & 0x0f : packed >>> 4) - 8;
    }

    private static float sum(float[] lanes) {
        float s = 0;
        for (float v : lanes) s += v;
        return s;
    }
}
