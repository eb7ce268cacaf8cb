package org.moe4j.kernel;

/**
 * One float GEMM, {@code C = alpha * op(A) * op(B) + beta * C}, with the arguments of {@link Gemm#sgemm}, already
 * checked: what the GEMM paths pass around and what batched calls queue up.
 */
record GemmProblem(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int offA, int lda,
        float[] b, int offB, int ldb, float beta, float[] c, int offC, int ldc) {}
