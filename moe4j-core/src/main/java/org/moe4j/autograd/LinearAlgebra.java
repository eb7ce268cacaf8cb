package org.moe4j.autograd;

import java.util.Arrays;
import org.moe4j.kernel.DotGemm;
import org.moe4j.kernel.Gemm;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;

/**
 * Matrix products with their gradients. Backward passes multiply by transposed views ({@code transpose(-1, -2)}),
 * which the GEMM reads in place, so no operand is copied; broadcast batch axes are summed back inside the GEMM.
 */
public final class LinearAlgebra {
    private LinearAlgebra() {}

    /**
     * {@code [..., m, k] x [..., k, n] -> [..., m, n]}, batch axes broadcast as in NumPy; both operands need rank
     * 2 or more.
     */
    public static Variable matmul(Variable a, Variable b) {
        Tensor av = a.value();
        Tensor bv = b.value();
        Tensor out = Gemm.matmul(av, bv);
        int[] batchA = Arrays.copyOf(av.shape(), av.rank() - 2);
        int[] batchB = Arrays.copyOf(bv.shape(), bv.rank() - 2);
        boolean gradA = a.requiresGrad();
        boolean gradB = b.requiresGrad();
        return Variable.result("matmul", out, g -> new Tensor[] {
            // dA = dC B^T and dB = A^T dC, each summed over the batch axes its operand was broadcast along.
            gradA ? Gemm.matmulSumTo(g, bv.transpose(-1, -2), batchA) : null,
            gradB ? Gemm.matmulSumTo(av.transpose(-1, -2), g, batchB) : null
        }, a, b);
    }

    /**
     * A dense layer as in PyTorch: {@code x [..., in]}, {@code weight [out, in]}, {@code bias [out]} or null;
     * returns {@code x weight^T + bias}, shaped {@code [..., out]}. Without a gradient to record (inference),
     * float32 takes {@link DotGemm}, whose every output is the same whatever the batch; else the {@link Gemm}.
     */
    public static Variable linear(Variable x, Variable weight, Variable biasOrNull) {
        Tensor xv = x.value();
        Tensor w = weight.value();
        if (inference(xv, w, x, weight, biasOrNull)) {
            // Nothing records, so no backward is kept: the result is a leaf named after the op.
            return Variable.result("linear", DotGemm.linear(xv, w, biasOrNull == null ? null : biasOrNull.value()),
                    null, x);
        }
        Tensor y = Gemm.linear(xv, w, biasOrNull == null ? null : biasOrNull.value());
        int in = w.dim(1);
        int out = w.dim(0);
        int[] xShape = xv.shape();
        int rows = Shapes.numel(Arrays.copyOf(xShape, xShape.length - 1));
        boolean gradX = x.requiresGrad();
        boolean gradW = weight.requiresGrad();
        boolean gradB = biasOrNull != null && biasOrNull.requiresGrad();
        Backward backward = g -> {
            Tensor g2 = g.reshape(rows, out); // [rows, out]
            Tensor x2 = xv.reshape(rows, in); // [rows, in]
            Tensor dx = gradX ? Gemm.matmul(g2, w).reshape(xShape) : null;
            Tensor dw = gradW ? Gemm.matmul(g2.transpose(0, 1), x2) : null;
            // Column sums of the output gradient, as a one-row product so they take the GEMM's fixed k order.
            Tensor db = gradB ? Gemm.matmul(Tensor.full(g.dtype(), 1.0, 1, rows), g2).reshape(out) : null;
            return biasOrNull == null ? new Tensor[] {dx, dw} : new Tensor[] {dx, dw, db};
        };
        return biasOrNull == null
                ? Variable.result("linear", y, backward, x, weight)
                : Variable.result("linear", y, backward, x, weight, biasOrNull);
    }

    /** No gradient will be recorded and every operand is float32: the inference kernels apply. */
    static boolean inference(Tensor xv, Tensor w, Variable... operands) {
        if (xv.dtype() != DType.F32 || w.dtype() != DType.F32) return false;
        boolean record = GradMode.enabled();
        for (Variable v : operands) {
            if (v == null) continue;
            if (v.value().dtype() != DType.F32) return false;
            if (record && v.requiresGrad()) return false;
        }
        return true;
    }
}
