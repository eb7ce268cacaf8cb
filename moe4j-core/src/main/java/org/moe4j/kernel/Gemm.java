package org.moe4j.kernel;

import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Storage;

/**
 * General matrix multiply: {@code C = alpha * op(A) * op(B) + beta * C}, row-major, where {@code op(X)} is X or
 * its transpose. Leading dimensions are in elements, as in BLAS.
 *
 * <p>{@link #reference} is the short scalar definition (it also serves F64); {@link #sgemm} is the float path.
 */
public final class Gemm {
    private Gemm() {}

    /** Float32 GEMM on arrays. {@code beta == 0} overwrites C without reading it (NaN in C does not leak). */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
            float[] a, int offA, int lda, float[] b, int offB, int ldb, float beta, float[] c, int offC, int ldc) {
        checkArgs(transA, transB, m, n, k, lda, ldb, ldc);
        referenceFloat(transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
    }

    /** The scalar definition over any storage, accumulating in double precision. */
    public static void reference(boolean transA, boolean transB, int m, int n, int k, double alpha,
            Storage a, int offA, int lda, Storage b, int offB, int ldb, double beta, Storage c, int offC, int ldc) {
        checkArgs(transA, transB, m, n, k, lda, ldb, ldc);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    double x = a.get(offA + (transA ? p * lda + i : i * lda + p));
                    double y = b.get(offB + (transB ? j * ldb + p : p * ldb + j));
                    sum += x * y;
                }
                int ci = offC + i * ldc + j;
                c.set(ci, alpha * sum + (beta == 0 ? 0 : beta * c.get(ci)));
            }
        }
    }

    private static void referenceFloat(boolean transA, boolean transB, int m, int n, int k, float alpha,
            float[] a, int offA, int lda, float[] b, int offB, int ldb, float beta, float[] c, int offC, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float sum = 0;
                for (int p = 0; p < k; p++) {
                    sum += a[offA + (transA ? p * lda + i : i * lda + p)] * b[offB + (transB ? j * ldb + p : p * ldb + j)];
                }
                int ci = offC + i * ldc + j;
                c[ci] = alpha * sum + (beta == 0 ? 0 : beta * c[ci]);
            }
        }
    }

    private static void checkArgs(boolean transA, boolean transB, int m, int n, int k, int lda, int ldb, int ldc) {
        if (m < 0 || n < 0 || k < 0) throw new ShapeException("gemm", "negative size m=" + m + " n=" + n + " k=" + k);
        if (lda < Math.max(1, transA ? m : k) || ldb < Math.max(1, transB ? k : n) || ldc < Math.max(1, n)) {
            throw new ShapeException("gemm", "leading dimension too small: lda=" + lda + " ldb=" + ldb + " ldc=" + ldc
                    + " for m=" + m + " n=" + n + " k=" + k);
        }
    }
}
