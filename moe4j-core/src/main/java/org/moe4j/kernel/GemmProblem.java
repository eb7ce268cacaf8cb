package org.moe4j.kernel;

/**
 * One float GEMM, {@code C = alpha * op(A) * op(B) + beta * C}, with the arguments of {@link Gemm#sgemm}, already
 * checked: what the GEMM paths pass around and what batched calls queue up. {@code epilogue}, when not null, runs
 * on each block of C once its values are final.
 */
record GemmProblem(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int offA, int lda,
        float[] b, int offB, int ldb, float beta, float[] c, int offC, int ldc, GemmEpilogue epilogue) {

    GemmProblem(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int offA, int lda,
            float[] b, int offB, int ldb, float beta, float[] c, int offC, int ldc) {
        this(transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc, null);
    }
}
