package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * Rotary position embeddings (Su et al. 2021, RoFormer) with the half-split pairing Hugging Face uses
 * ({@code rotate_half}): in each head vector of width D, element i pairs with element i + D/2 and the pair turns
 * by the angle {@code p * theta^(-2i/D)} at position p:
 * <pre>
 *   out[i]       = x[i] cos - x[i + D/2] sin
 *   out[i + D/2] = x[i + D/2] cos + x[i] sin
 * </pre>
 * The rotation is orthogonal, so its backward is the rotation by the opposite angle ({@code inverse}).
 *
 * <p>x is [..., T, H, D]: the position of row t (axis rank-3) is {@code start + t}, the same for every leading
 * index and head. The fast path (contiguous F32) vectorizes along i; the reference goes through {@code
 * Storage.get/set} in double precision and serves F64.
 */
public final class RopeKernels {
    private static final VectorSpecies<Float> S = Backend.FLOATS;

    private RopeKernels() {}

    /**
     * The cosines and sines of every angle, computed once in double precision.
     *
     * @param positions how many positions the tables cover
     * @param half      D / 2
     * @param cos       [positions, half] as float, for the fast path
     * @param sin       [positions, half]
     * @param cos64     [positions, half] as double, for the reference
     * @param sin64     [positions, half]
     */
    public record Tables(int positions, int half, float[] cos, float[] sin, double[] cos64, double[] sin64) {
        /** Tables for head width {@code headDim} (even), base {@code theta}, positions 0 .. positions-1. */
        public static Tables of(int headDim, double theta, int positions) {
            if (headDim <= 0 || headDim % 2 != 0) throw new Moe4jException("rope: head dim must be positive and even, got " + headDim);
            if (!(theta > 1) || Double.isInfinite(theta)) throw new Moe4jException("rope: theta must be finite and > 1, got " + theta);
            if (positions <= 0) throw new Moe4jException("rope: positions must be positive, got " + positions);
            int half = headDim / 2;
            int n = Math.multiplyExact(positions, half);
            float[] c = new float[n], s = new float[n];
            double[] c64 = new double[n], s64 = new double[n];
            for (int i = 0; i < half; i++) {
                double invFreq = Math.pow(theta, -2.0 * i / headDim);
                for (int p = 0; p < positions; p++) {
                    double angle = p * invFreq;
                    c64[p * half + i] = Math.cos(angle);
                    s64[p * half + i] = Math.sin(angle);
                    c[p * half + i] = (float) c64[p * half + i];
                    s[p * half + i] = (float) s64[p * half + i];
                }
            }
            return new Tables(positions, half, c, s, c64, s64);
        }
    }

    /** x [..., T, H, D] rotated to its positions {@code start + t}; {@code inverse} turns by minus the angle. */
    public static Tensor rotate(Tensor x, Tables tables, int start, boolean inverse) {
        int[] d = check(x, tables, start);
        if (Backend.vector() && x.dtype() == DType.F32) {
            Tensor xc = x.contiguous();
            Tensor out = Tensor.zeros(x.shape());
            rotateFloat(xc.floats(), xc.offset(), out.floats(), 0, d[0], d[1], d[2], tables, start, inverse);
            return out;
        }
        return rotateReference(x, tables, start, inverse);
    }

    /**
     * The float path on arrays: {@code lead * T} blocks of H rows of width D, contiguous, read at {@code xOff} and
     * written at {@code oOff} (the same array and offset rotates in place). Block b has position {@code start + b % T}.
     */
    public static void rotateFloat(float[] x, int xOff, float[] o, int oOff, int lead, int t, int h, Tables tables,
            int start, boolean inverse) {
        int half = tables.half();
        int width = 2 * half;
        int rows = lead * t * h;
        float sign = inverse ? -1f : 1f;
        Parallel.forRange(rows, Math.max(1, (1 << 14) / width), (from, to) -> {
            for (int r = from; r < to; r++) {
                rotateRow(x, xOff + r * width, o, oOff + r * width, tables, start + (r / h) % t, sign);
            }
        });
    }

    /**
     * One head vector of width D at {@code x[xi..]} rotated to position {@code pos} into {@code o[oi..]} (which may
     * be the same place); {@code sign} -1 turns backward.
     */
    static void rotateRow(float[] x, int xi, float[] o, int oi, Tables tables, int pos, float sign) {
        int half = tables.half();
        int l = S.length();
        int upper = S.loopBound(half);
        float[] cos = tables.cos(), sin = tables.sin();
        int tb = pos * half;
        int i = 0;
        for (; i < upper; i += l) {
            FloatVector a = FloatVector.fromArray(S, x, xi + i);
            FloatVector b = FloatVector.fromArray(S, x, xi + half + i);
            FloatVector c = FloatVector.fromArray(S, cos, tb + i);
            FloatVector s = FloatVector.fromArray(S, sin, tb + i).mul(sign);
            a.mul(c).sub(b.mul(s)).intoArray(o, oi + i);
            b.mul(c).add(a.mul(s)).intoArray(o, oi + half + i);
        }
        for (; i < half; i++) {
            float a = x[xi + i], b = x[xi + half + i];
            float c = cos[tb + i], s = sign * sin[tb + i];
            o[oi + i] = a * c - b * s;
            o[oi + half + i] = b * c + a * s;
        }
    }

    /** One head vector rotated in double precision through storages (the reference's inner step). */
    static void rotateRowReference(Storage in, int xi, Storage out, int oi, Tables tables, int pos, double sign) {
        int half = tables.half();
        for (int i = 0; i < half; i++) {
            double a = in.get(xi + i), b = in.get(xi + half + i);
            double c = tables.cos64()[pos * half + i], s = sign * tables.sin64()[pos * half + i];
            out.set(oi + i, a * c - b * s);
            out.set(oi + half + i, b * c + a * s);
        }
    }

    /** The definition, element by element in double precision; any dtype and strides. */
    static Tensor rotateReference(Tensor x, Tables tables, int start, boolean inverse) {
        int[] d = check(x, tables, start);
        int half = tables.half();
        Tensor xc = x.contiguous();
        Tensor out = xc.newZeros(x.shape());
        Storage in = xc.storage(), os = out.storage();
        double sign = inverse ? -1 : 1;
        int rows = d[0] * d[1] * d[2];
        for (int r = 0; r < rows; r++) {
            rotateRowReference(in, xc.offset() + r * 2 * half, os, r * 2 * half, tables, start + (r / d[2]) % d[1], sign);
        }
        return out;
    }

    /** Returns {lead, T, H} after checking x [..., T, H, D] against the tables. */
    private static int[] check(Tensor x, Tables tables, int start) {
        int[] s = x.shape();
        if (s.length < 3 || s[s.length - 1] != 2 * tables.half()) {
            throw ShapeException.of("rope", "expects x [..., T, H, " + 2 * tables.half() + "]", s);
        }
        int t = s[s.length - 3], h = s[s.length - 2];
        if (start < 0 || (long) start + t > tables.positions()) {
            throw ShapeException.of("rope", "positions " + start + ".." + ((long) start + t - 1)
                    + " exceed the " + tables.positions() + " positions of the tables", s);
        }
        int lead = t * h == 0 ? 0 : x.numel() / (t * h * s[s.length - 1]);
        return new int[] {lead, t, h};
    }
}
