package org.moe4j.kernel;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.tensor.Float16s;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.Quantization;
import org.moe4j.tensor.QuantizedTensor;

/**
 * Row decoding for the formats {@link PackedWeight} keeps as file rows, with a Vector API path for Q4_K and Q6_K that
 * gives {@link Quantization#dequantizeRow}'s values bit for bit: the same float products and differences, one
 * rounding each, in 16 lanes instead of one ({@code (d * sc) * q - dmin * m} for Q4_K, {@code (d * sc) * q} for
 * Q6_K, the scalar factors formed first exactly as there).
 */
final class KQuantRows {
    private static final VectorSpecies<Float> F = Backend.FLOATS;
    private static final boolean VECTOR = F.length() == 16;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;

    private KQuantRows() {}

    /** Row {@code r} of {@code rows} decoded into {@code out} from {@code off}. */
    static void decode(QuantizedTensor rows, int r, float[] out, int off) {
        QuantFormat f = rows.format();
        if (!VECTOR || !Backend.vector() || (f != QuantFormat.Q4_K && f != QuantFormat.Q6_K)) {
            rows.dequantizeRow(r, out, off);
            return;
        }
        MemorySegment src = rows.data();
        long at = r * rows.rowBytes();
        int blocks = rows.cols() / 256;
        if (f == QuantFormat.Q4_K) {
            for (int b = 0; b < blocks; b++, at += 144) q4k(src, at, out, off + 256 * b);
        } else {
            for (int b = 0; b < blocks; b++, at += 210) q6k(src, at, out, off + 256 * b);
        }
    }

    /** One Q4_K super-block at {@code at}: d, dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles. */
    private static void q4k(MemorySegment s, long at, float[] y, int o) {
        float d = Float16s.fromF16(s.get(Quantization.I16_LE, at));
        float min = Float16s.fromF16(s.get(Quantization.I16_LE, at + 2));
        long sc = at + 4;
        for (int c = 0; c < 4; c++) {
            int j = 2 * c;
            // scale and min j and j + 1 (ggml's get_scale_min_k4)
            int s1, m1, s2, m2;
            if (j < 4) {
                s1 = u8(s, sc + j) & 63;
                m1 = u8(s, sc + j + 4) & 63;
                s2 = u8(s, sc + j + 1) & 63;
                m2 = u8(s, sc + j + 5) & 63;
            } else {
                s1 = (u8(s, sc + j + 4) & 0x0f) | (u8(s, sc + j - 4) >>> 6) << 4;
                m1 = (u8(s, sc + j + 4) >>> 4) | (u8(s, sc + j) >>> 6) << 4;
                s2 = (u8(s, sc + j + 5) & 0x0f) | (u8(s, sc + j - 3) >>> 6) << 4;
                m2 = (u8(s, sc + j + 5) >>> 4) | (u8(s, sc + j + 1) >>> 6) << 4;
            }
            FloatVector d1 = FloatVector.broadcast(F, d * s1), dm1 = FloatVector.broadcast(F, min * m1);
            FloatVector d2 = FloatVector.broadcast(F, d * s2), dm2 = FloatVector.broadcast(F, min * m2);
            for (int h = 0; h < 2; h++) {
                ByteVector q = ByteVector.fromMemorySegment(B16, s, at + 16 + 32 * c + 16 * h, ByteOrder.LITTLE_ENDIAN);
                ((FloatVector) q.and((byte) 0x0f).convertShape(B2F, F, 0)).mul(d1).sub(dm1)
                        .intoArray(y, o + 64 * c + 16 * h);
                ((FloatVector) q.lanewise(LSHR, 4).convertShape(B2F, F, 0)).mul(d2).sub(dm2)
                        .intoArray(y, o + 64 * c + 32 + 16 * h);
            }
        }
    }

    /** One Q6_K super-block at {@code at}: 128 bytes of low nibbles, 64 of high bit pairs, 16 int8 scales, d. */
    private static void q6k(MemorySegment s, long at, float[] y, int o) {
        float d = Float16s.fromF16(s.get(Quantization.I16_LE, at + 208));
        for (int half = 0; half < 2; half++) {
            long ql = at + 64 * half, qh = at + 128 + 32 * half, sc = at + 192 + 8 * half;
            int out = o + 128 * half;
            for (int l = 0; l < 32; l += 16) {
                int is = l / 16;
                ByteVector a = ByteVector.fromMemorySegment(B16, s, ql + l, ByteOrder.LITTLE_ENDIAN);
                ByteVector b = ByteVector.fromMemorySegment(B16, s, ql + l + 32, ByteOrder.LITTLE_ENDIAN);
                ByteVector h = ByteVector.fromMemorySegment(B16, s, qh + l, ByteOrder.LITTLE_ENDIAN);
                ByteVector q1 = a.and((byte) 0x0f).or(h.and((byte) 3).lanewise(LSHL, 4)).sub((byte) 32);
                ByteVector q2 = b.and((byte) 0x0f).or(h.lanewise(LSHR, 2).and((byte) 3).lanewise(LSHL, 4)).sub((byte) 32);
                ByteVector q3 = a.lanewise(LSHR, 4).or(h.lanewise(LSHR, 4).and((byte) 3).lanewise(LSHL, 4)).sub((byte) 32);
                ByteVector q4 = b.lanewise(LSHR, 4).or(h.lanewise(LSHR, 6).and((byte) 3).lanewise(LSHL, 4)).sub((byte) 32);
                ((FloatVector) q1.convertShape(B2F, F, 0)).mul(d * s.get(U8, sc + is)).intoArray(y, out + l);
                ((FloatVector) q2.convertShape(B2F, F, 0)).mul(d * s.get(U8, sc + is + 2)).intoArray(y, out + l + 32);
                ((FloatVector) q3.convertShape(B2F, F, 0)).mul(d * s.get(U8, sc + is + 4)).intoArray(y, out + l + 64);
                ((FloatVector) q4.convertShape(B2F, F, 0)).mul(d * s.get(U8, sc + is + 6)).intoArray(y, out + l + 96);
            }
        }
    }

    private static int u8(MemorySegment s, long at) {
        return s.get(U8, at) & 0xff;
    }
}
