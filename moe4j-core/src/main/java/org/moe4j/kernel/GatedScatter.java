package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * The combine step of an MoE layer: {@code out[t] = sum over rows r of token t of gate[r] * rows[r]}, where each
 * token's rows are listed in CSR form ({@code tokenRows[tokenStart[t] .. tokenStart[t+1]-1]}, ascending). Every
 * token is summed by one thread in row order, so the result is deterministic and a token's output does not
 * depend on the other tokens in the batch.
 */
public final class GatedScatter {
    private static final VectorSpecies<Float> S = Backend.FLOATS;

    private GatedScatter() {}

    /** rows [R, D], gate [R] (one per row) to out [tokens, D]. */
    public static Tensor forward(Tensor rows, float[] gate, double[] gate64, int[] tokenStart, int[] tokenRows,
            int tokens) {
        int d = rows.dim(1);
        Tensor out = rows.newZeros(tokens, d);
        Tensor rc = rows.contiguous();
        if (Backend.vector() && rc.dtype() == DType.F32) {
            float[] src = rc.floats(), dst = out.floats();
            int base = rc.offset();
            Parallel.forRange(tokens, Math.max(1, 4096 / Math.max(1, d)), (from, to) -> {
                for (int t = from; t < to; t++) {
                    for (int j = tokenStart[t]; j < tokenStart[t + 1]; j++) {
                        int r = tokenRows[j];
                        axpy(gate[r], src, base + r * d, dst, t * d, d);
                    }
                }
            });
        } else {
            Storage src = rc.storage(), dst = out.storage();
            for (int t = 0; t < tokens; t++) {
                for (int j = tokenStart[t]; j < tokenStart[t + 1]; j++) {
                    int r = tokenRows[j];
                    double g = gate64 != null ? gate64[r] : gate[r];
                    for (int i = 0; i < d; i++) dst.set(t * d + i, dst.get(t * d + i) + g * src.get(rc.offset() + r * d + i));
                }
            }
        }
        return out;
    }

    /** Gradient for the rows: dRows[r] = gate[r] * dOut[token of r]. */
    public static Tensor backwardRows(Tensor dOut, float[] gate, double[] gate64, int[] rowToken) {
        int d = dOut.dim(1);
        int rows = rowToken.length;
        Tensor dc = dOut.contiguous();
        Tensor dRows = dOut.newZeros(rows, d);
        if (Backend.vector() && dc.dtype() == DType.F32) {
            float[] src = dc.floats(), dst = dRows.floats();
            int base = dc.offset();
            Parallel.forRange(rows, Math.max(1, 4096 / Math.max(1, d)), (from, to) -> {
                for (int r = from; r < to; r++) axpy(gate[r], src, base + rowToken[r] * d, dst, r * d, d);
            });
        } else {
            Storage src = dc.storage(), dst = dRows.storage();
            for (int r = 0; r < rows; r++) {
                double g = gate64 != null ? gate64[r] : gate[r];
                for (int i = 0; i < d; i++) dst.set(r * d + i, g * src.get(dc.offset() + rowToken[r] * d + i));
            }
        }
        return dRows;
    }

    /** Gradient for the gates: dGate[r] = rows[r] . dOut[token of r], accumulated in double. */
    public static double[] backwardGates(Tensor rows, Tensor dOut, int[] rowToken) {
        int d = rows.dim(1);
        Tensor rc = rows.contiguous(), dc = dOut.contiguous();
        double[] g = new double[rowToken.length];
        if (Backend.vector() && rc.dtype() == DType.F32) {
            float[] a = rc.floats(), b = dc.floats();
            int oa = rc.offset(), ob = dc.offset();
            Parallel.forRange(rowToken.length, Math.max(1, 4096 / Math.max(1, d)), (from, to) -> {
                for (int r = from; r < to; r++) g[r] = dot(a, oa + r * d, b, ob + rowToken[r] * d, d);
            });
        } else {
            Storage a = rc.storage(), b = dc.storage();
            for (int r = 0; r < g.length; r++) {
                double s = 0;
                for (int i = 0; i < d; i++) s += a.get(rc.offset() + r * d + i) * b.get(dc.offset() + rowToken[r] * d + i);
                g[r] = s;
            }
        }
        return g;
    }

    private static void axpy(float alpha, float[] x, int ox, float[] y, int oy, int n) {
        FloatVector a = FloatVector.broadcast(S, alpha);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector.fromArray(S, x, ox + i).fma(a, FloatVector.fromArray(S, y, oy + i)).intoArray(y, oy + i);
        }
        for (; i < n; i++) y[oy + i] = Math.fma(alpha, x[ox + i], y[oy + i]);
    }

    private static double dot(float[] a, int oa, float[] b, int ob, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            acc = FloatVector.fromArray(S, a, oa + i).fma(FloatVector.fromArray(S, b, ob + i), acc);
        }
        double s = VectorMath.sumLanes(acc); // lane order fixed, unlike reduceLanes
        for (; i < n; i++) s += a[oa + i] * b[ob + i];
        return s;
    }
}
