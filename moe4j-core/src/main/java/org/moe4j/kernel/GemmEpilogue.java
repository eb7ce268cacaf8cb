package org.moe4j.kernel;

/**
 * Work a GEMM does on its own output as soon as a block of it is final, while that block is still in cache: the
 * rows {@code [i0, i1)} x columns {@code [j0, j1)} of C, in the coordinates of problem {@code g} (element (i, j)
 * at {@code g.c()[g.offC() + i * g.ldc() + j]}). Every element of C passes through exactly once, after its last
 * depth block; disjoint blocks may be passed from different threads at once. An epilogue must work element by
 * element, so that its result does not depend on how C is cut into blocks.
 */
@FunctionalInterface
interface GemmEpilogue {
    void apply(GemmProblem g, int i0, int i1, int j0, int j1);
}
