package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * The SwiGLU gate of a gated feed-forward layer, {@code h = silu(gate) * up}, fused: the forward writes h in one
 * pass (silu(gate) is never stored) and the backward writes both gradients in one pass from gate, up and dh. As
 * two ops it took four full-size tensors and five passes over memory; in an MoE layer these tensors are the
 * largest activations there are.
 */
public final class GluKernels {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int BLOCK = 1 << 11; // sigmoid(gate) of one block goes to dUp first, and stays in L1
    private static final int GRAIN = 1 << 14;

    private GluKernels() {}

    /** {@code silu(gate) * up}, elementwise; both the same shape. */
    public static Tensor swiglu(Tensor gate, Tensor up) {
        check("swiglu", gate, up);
        if (!Elementwise.floatPath(gate, up)) return swigluReference(gate, up);
        Tensor gc = gate.contiguous(), uc = up.contiguous();
        Tensor h = gc.newZeros(gc.shape());
        float[] g = gc.floats(), u = uc.floats(), o = h.floats();
        int og = gc.offset(), ou = uc.offset();
        Parallel.forRange(h.numel(), GRAIN, (from, to) -> {
            for (int b = from; b < to; b += BLOCK) forwardBlock(g, og, u, ou, o, b, Math.min(to, b + BLOCK));
        });
        return h;
    }

    /**
     * The gradients {dGate, dUp} of {@code h = silu(gate) * up} given dh: {@code dUp = dh silu(gate)} and
     * {@code dGate = dh up s (1 + gate (1 - s))} with {@code s = sigmoid(gate)}.
     */
    public static Tensor[] swigluBackward(Tensor gate, Tensor up, Tensor dh) {
        check("swiglu backward", gate, up);
        check("swiglu backward", gate, dh);
        if (!Elementwise.floatPath(gate, up, dh)) return swigluBackwardReference(gate, up, dh);
        Tensor gc = gate.contiguous(), uc = up.contiguous(), dc = dh.contiguous();
        Tensor dGate = gc.newZeros(gc.shape()), dUp = gc.newZeros(gc.shape());
        float[] g = gc.floats(), u = uc.floats(), d = dc.floats(), dg = dGate.floats(), du = dUp.floats();
        int og = gc.offset(), ou = uc.offset(), od = dc.offset();
        Parallel.forRange(dGate.numel(), GRAIN, (from, to) -> {
            for (int b = from; b < to; b += BLOCK) {
                backwardBlock(g, og, u, ou, d, od, dg, du, b, Math.min(to, b + BLOCK));
            }
        });
        return new Tensor[] {dGate, dUp};
    }

    /** The definition, over any storage in double precision. */
    public static Tensor swigluReference(Tensor gate, Tensor up) {
        check("swiglu", gate, up);
        Tensor h = gate.newZeros(gate.shape());
        Storage hs = h.storage();
        for (int i = 0; i < h.numel(); i++) {
            double x = gate.storage().get(gate.storageIndex(i));
            hs.set(i, x / (1 + Math.exp(-x)) * up.storage().get(up.storageIndex(i)));
        }
        return h;
    }

    /** The gradients by their definition, over any storage in double precision. */
    public static Tensor[] swigluBackwardReference(Tensor gate, Tensor up, Tensor dh) {
        check("swiglu backward", gate, up);
        check("swiglu backward", gate, dh);
        Tensor dGate = gate.newZeros(gate.shape()), dUp = gate.newZeros(gate.shape());
        for (int i = 0; i < dGate.numel(); i++) {
            double x = gate.storage().get(gate.storageIndex(i));
            double u = up.storage().get(up.storageIndex(i));
            double d = dh.storage().get(dh.storageIndex(i));
            double s = 1 / (1 + Math.exp(-x));
            dUp.storage().set(i, d * x * s);
            dGate.storage().set(i, d * u * s * (1 + x * (1 - s)));
        }
        return new Tensor[] {dGate, dUp};
    }

    /** o[i] = g / (1 + exp(-g)) * u over [b, e), exp(-g) in registers. */
    private static void forwardBlock(float[] g, int og, float[] u, int ou, float[] o, int b, int e) {
        int i = b;
        for (int upper = b + S.loopBound(e - b); i < upper; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, g, og + i);
            x.div(VectorMath.exp(x.neg()).add(1f)).mul(FloatVector.fromArray(S, u, ou + i)).intoArray(o, i);
        }
        for (; i < e; i++) {
            float x = g[og + i];
            o[i] = x / (VectorMath.exp(-x) + 1f) * u[ou + i];
        }
    }

    /**
     * A GEMM epilogue for the product that gives dh (the gradient of {@code h = silu(gate) * up}): as each block of
     * C (dh) becomes final, overwrites it with dGate and writes dUp, so dh is never stored whole. {@code gate},
     * {@code up} and {@code dUp} are laid out as C is. Bit for bit what {@link #swigluBackward} gives.
     */
    static GemmEpilogue swigluBackwardEpilogue(float[] gate, float[] up, float[] dUp) {
        return (g, i0, i1, j0, j1) -> {
            float[] c = g.c();
            for (int i = i0; i < i1; i++) {
                int end = g.offC() + i * g.ldc() + j1;
                for (int b = end - (j1 - j0); b < end; b += BLOCK) {
                    backwardBlock(gate, 0, up, 0, c, 0, c, dUp, b, Math.min(end, b + BLOCK));
                }
            }
        };
    }

    /**
     * Both gradients over [b, e): sigmoid(g) into du first (exp in registers; one loop for all of it would pass
     * C2's inlining budget and leave exp's vectors boxed), then the rest. Each element's dh is read before its dg
     * is written, so dg may be d itself (same offset).
     */
    private static void backwardBlock(float[] g, int og, float[] u, int ou, float[] d, int od, float[] dg, float[] du,
            int b, int e) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        int i = b;
        for (int upper = b + S.loopBound(e - b); i < upper; i += S.length()) {
            one.div(VectorMath.exp(FloatVector.fromArray(S, g, og + i).neg()).add(1f)).intoArray(du, i);
        }
        for (; i < e; i++) du[i] = 1f / (VectorMath.exp(-g[og + i]) + 1f);
        i = b;
        for (int upper = b + S.loopBound(e - b); i < upper; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, g, og + i);
            FloatVector dh = FloatVector.fromArray(S, d, od + i);
            FloatVector s = FloatVector.fromArray(S, du, i);
            FloatVector silu = x.mul(s);
            dh.mul(silu).intoArray(du, i);
            // s (1 + x (1 - s)) = s + silu (1 - s)
            FloatVector slope = silu.fma(one.sub(s), s);
            dh.mul(FloatVector.fromArray(S, u, ou + i)).mul(slope).intoArray(dg, i);
        }
        for (; i < e; i++) {
            float x = g[og + i], dh = d[od + i];
            float s = du[i];
            float silu = x * s;
            du[i] = dh * silu;
            dg[i] = dh * u[ou + i] * Math.fma(silu, 1f - s, s);
        }
    }

    private static void check(String op, Tensor a, Tensor b) {
        if (!a.sameShape(b)) throw ShapeException.of(op, "gate, up and gradient must have one shape", a.shape(), b.shape());
        if (a.dtype() != b.dtype()) {
            throw ShapeException.of(op, "dtypes differ: " + a.dtype() + " and " + b.dtype(), a.shape(), b.shape());
        }
    }
}
