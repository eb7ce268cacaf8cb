package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The blocked, packed float GEMM behind {@link Gemm#sgemm}: the Goto/BLIS loop nest around a register-tiled
 * Vector API micro-kernel.
 *
 * <p>Per thread, for each block of {@code NC} columns and {@code KC} depth, B is packed into panels of
 * {@code NR} columns ({@code [kc][NR]} each, zero-padded); for each block of {@code MC} rows, A is packed into
 * panels of {@code MR} rows ({@code [kc][MR]} each). The micro-kernel then multiplies one A panel by one B
 * panel into {@code MR x NR} accumulators held in registers. Transposed operands are read transposed while
 * packing, so they need no copy.
 *
 * <p>Threads split C into column (or row) ranges of whole panels and each packs what it needs, so no two
 * threads write the same C element and no barrier is needed. Each C element is summed in k order, in blocks
 * whose bounds depend only on k, by the same arithmetic whichever tile or thread it falls in: results do not
 * depend on the thread count.
 */
final class GemmPacked {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int L = S.length();
    /** Rows of the register tile: 12 x 2 vectors take 24 of AVX-512's 32 registers. */
    static final int MR = 12;
    /** Columns of the register tile: two vectors. */
    static final int NR = 2 * L;
    /**
     * Depth of a packed block. Deep blocks pay off because every block re-reads and re-writes its C tiles:
     * on the AVX-512 machine this was tuned on (48 KiB L1, 1 MiB L2), 1024 beat 256 by about 10%, although
     * an A panel (48 KiB) and a B panel (128 KiB) then stream from L2 rather than sit in L1.
     */
    static final int KC = 1024;
    /** Rows of a packed A block (MC x KC floats, 240 KiB: fits L2). */
    static final int MC = 5 * MR;
    /** Columns of a packed B block (KC x NC floats, 4 MiB: shares L3; also bounds the per-thread buffer). */
    static final int NC = 32 * NR;

    /**
     * Plain A panels deeper than this are packed by 16 x 16 turns in registers, shallower ones by scalar copies: at
     * depth 1024 a panel (48 KiB) no longer sits in L1 while its 12 rows are copied one after another, and the
     * turns packed 1024 x 1024 in 0.30 ms against 0.52; at depth 512 the copies were as fast or faster (0.15-0.19
     * ms against 0.18-0.27 for 1024 x 512).
     */
    private static final int TURN_DEPTH = 512;

    /** Per-thread packing buffers, grown on demand (kernel-private scratch, never visible to callers). */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        float[] packedA = new float[MC * KC + L]; // [MC / MR panels][kc][MR], then slack for packA's spill
        float[] packedB = new float[0]; // [nc / NR panels][kc][NR]
        final float[] tile = new float[MR * NR]; // [MR][NR] accumulators of one micro-kernel call

        float[] packedB(int size) {
            if (packedB.length < size) packedB = new float[size];
            return packedB;
        }
    }

    private GemmPacked() {}

    /** Computes C rows [i0, i1) x columns [j0, j1) of the problem, on the calling thread. */
    static void block(GemmProblem g, int i0, int i1, int j0, int j1) {
        if (i0 >= i1 || j0 >= j1) return;
        Scratch s = SCRATCH.get();
        int k = g.k();
        int kBlocks = depthBlocks(k);
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            int bPanels = (nc + NR - 1) / NR;
            for (int kb = 0; kb < kBlocks; kb++) {
                int pc = depthStart(k, kb, kBlocks);
                int kc = depthStart(k, kb + 1, kBlocks) - pc;
                float[] bp = s.packedB(bPanels * kc * NR);
                packB(g, pc, kc, jc, nc, bp);
                boolean first = kb == 0;
                // After the last depth block, the block of C just stored is final: the epilogue takes it while it
                // is still in L2.
                GemmEpilogue epilogue = kb == kBlocks - 1 ? g.epilogue() : null;
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    packA(g, ic, mc, pc, kc, s.packedA);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        for (int ir = 0; ir < mc; ir += MR) {
                            kernel(kc, s.packedA, ir * kc, bp, jr * kc, s.tile);
                            store(g, s.tile, ic + ir, Math.min(MR, mc - ir), jc + jr, nr, first);
                        }
                    }
                    if (epilogue != null) epilogue.apply(g, ic, ic + mc, jc, jc + nc);
                }
            }
        }
    }

    /** How many depth blocks every GEMM path splits k into: a function of k alone (see {@link Gemm#sgemm}). */
    static int depthBlocks(int k) {
        return Math.max(1, (k + KC - 1) / KC);
    }

    /** Where depth block {@code kb} of {@code blocks} starts; blocks are of equal depth (150 + 150, not 256 + 44). */
    static int depthStart(int k, int kb, int blocks) {
        return (int) ((long) k * kb / blocks);
    }

    // ---- packing -------------------------------------------------------------------------------------------

    /**
     * Packs rows [i0, i0+mc) x depth [p0, p0+kc) of op(A) into MR-row panels [kc][MR], zero-padding the last.
     * Moving floats never changes them, so how a panel is packed never changes a result.
     */
    static void packA(GemmProblem g, int i0, int mc, int p0, int kc, float[] dst) {
        if (g.transA()) {
            packTransposedA(g, i0, mc, p0, kc, dst);
            return;
        }
        float[] a = g.a();
        int lda = g.lda();
        for (int ir = 0; ir < mc; ir += MR) {
            int rows = Math.min(MR, mc - ir);
            int base = ir * kc;
            int row0 = i0 + ir;
            int p = 0;
            if (L == 16 && rows == MR && row0 + L <= g.m() && kc > TURN_DEPTH) {
                // op(A)(i, p) = a[i * lda + p]: 16 rows x 16 depth steps turned in registers (the panel's 12 rows
                // and 4 below it, which exist), each depth step written as one 16-lane vector at stride MR. The 4
                // extra lanes spill into the next step's slots, which that step then overwrites; the last step's
                // spill lands in the next panel (packed after this one) or the buffer's slack.
                int src = g.offA() + row0 * lda + p0;
                for (; p + L <= kc; p += L) GemmTranspose.full16(a, src + p, lda, dst, base + p * MR, MR);
            }
            // The rest (or all, for short panels): read each row contiguously, write with stride MR. (Indices are
            // affine in the one loop variable so that the JIT drops the bounds checks.)
            for (int i = 0; i < rows; i++) {
                int src = g.offA() + (row0 + i) * lda + p0;
                int d = base + i;
                for (int q = p; q < kc; q++) dst[d + q * MR] = a[src + q];
            }
            for (int i = rows; i < MR; i++) {
                int d = base + i;
                for (int q = p; q < kc; q++) dst[d + q * MR] = 0;
            }
        }
    }

    /**
     * {@link #packA} for a transposed A, op(A)(i, p) = a[p * lda + i]: each depth step is a contiguous run of the
     * block's mc floats, which the panels share out MR at a time. Depth steps go in the outer loop, so each run
     * of A (often a row of 4 KiB stride, e.g. a weight gradient's dy^T) is read once, whole, rather than once per
     * panel; a 16-lane load and store moves each panel's MR floats, the 4 extra lanes spilling into the panel's
     * next step, which that step then overwrites. This was about 1.5x faster than masked loads panel by panel.
     */
    private static void packTransposedA(GemmProblem g, int i0, int mc, int p0, int kc, float[] dst) {
        float[] a = g.a();
        int lda = g.lda();
        int panels = (mc + MR - 1) / MR;
        int panelSize = kc * MR;
        int src = g.offA() + p0 * lda + i0;
        int p = 0;
        if (mc % MR == 0) {
            // Whole 16-lane loads while they stay inside a; the block's last step is left to the loop below, so
            // that its spill does not land in the next panel's first step.
            int inside = (int) Math.min(kc - 1, Math.floorDiv(a.length - L - src - (long) (panels - 1) * MR, lda) + 1);
            for (; p < inside; p++, src += lda) {
                for (int q = 0, d = p * MR; q < panels; q++, d += panelSize) {
                    FloatVector.fromArray(S, a, src + q * MR).intoArray(dst, d);
                }
            }
        }
        for (; p < kc; p++, src += lda) {
            for (int q = 0, d = p * MR; q < panels; q++, d += panelSize) {
                int rows = Math.min(MR, mc - q * MR);
                for (int i = 0; i < rows; i++) dst[d + i] = a[src + q * MR + i];
                for (int i = rows; i < MR; i++) dst[d + i] = 0;
            }
        }
    }

    /** Packs depth [p0, p0+kc) x columns [j0, j0+nc) of op(B) into NR-column panels [kc][NR], zero-padded. */
    static void packB(GemmProblem g, int p0, int kc, int j0, int nc, float[] dst) {
        float[] b = g.b();
        int ldb = g.ldb();
        for (int jr = 0; jr < nc; jr += NR) {
            int cols = Math.min(NR, nc - jr);
            int base = jr * kc;
            if (!g.transB()) {
                // op(B)(p, j) = b[p * ldb + j]: each depth step is a contiguous row segment.
                int src = g.offB() + p0 * ldb + j0 + jr;
                if (cols == NR) {
                    for (int p = 0, d = base; p < kc; p++, d += NR, src += ldb) {
                        FloatVector.fromArray(S, b, src).intoArray(dst, d);
                        FloatVector.fromArray(S, b, src + L).intoArray(dst, d + L);
                    }
                } else {
                    VectorMask<Float> lo = S.indexInRange(0, cols);
                    VectorMask<Float> hi = S.indexInRange(L, cols);
                    for (int p = 0, d = base; p < kc; p++, d += NR, src += ldb) {
                        FloatVector.fromArray(S, b, src, lo).intoArray(dst, d);
                        FloatVector.fromArray(S, b, src + L, hi).intoArray(dst, d + L);
                    }
                }
            } else {
                // op(B)(p, j) = b[j * ldb + p]: columns of op(B) are rows of b, transposed L x L at a time into
                // the two halves of the panel (a half past the last column gets zeros).
                for (int h = 0; h < NR; h += L) {
                    int rows = Math.clamp(cols - h, 0, L);
                    int src = g.offB() + (j0 + jr + h) * ldb + p0;
                    for (int p = 0; p < kc; p += L) {
                        GemmTranspose.block(b, src + p, ldb, rows, Math.min(L, kc - p), dst, base + p * NR + h, NR);
                    }
                }
            }
        }
    }

    // ---- micro-kernel ----------------------------------------------------------------------------------------

    /**
     * {@code tile[MR][NR] = sum over p < kc of ap[p][i] * bp[p][j]}, each element summed in p order by fused
     * multiply-adds. Written out in full so that the 24 accumulators stay in registers.
     */
    static void kernel(int kc, float[] ap, int ai, float[] bp, int bi, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        FloatVector c60 = c00, c61 = c00, c70 = c00, c71 = c00, c80 = c00, c81 = c00;
        FloatVector c90 = c00, c91 = c00, ca0 = c00, ca1 = c00, cb0 = c00, cb1 = c00;
        for (int p = 0; p < kc; p++, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, ap[ai + 8]);
            c80 = x.fma(b0, c80);
            c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, ap[ai + 9]);
            c90 = x.fma(b0, c90);
            c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, ap[ai + 10]);
            ca0 = x.fma(b0, ca0);
            ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, ap[ai + 11]);
            cb0 = x.fma(b0, cb0);
            cb1 = x.fma(b1, cb1);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + L);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + L);
        c80.intoArray(tile, 8 * NR);
        c81.intoArray(tile, 8 * NR + L);
        c90.intoArray(tile, 9 * NR);
        c91.intoArray(tile, 9 * NR + L);
        ca0.intoArray(tile, 10 * NR);
        ca1.intoArray(tile, 10 * NR + L);
        cb0.intoArray(tile, 11 * NR);
        cb1.intoArray(tile, 11 * NR + L);
    }

    /**
     * Merges a tile of sums into C: {@code C = alpha * t + beta * C} for the first depth block (without reading
     * C when beta is 0), {@code C = alpha * t + C} for later ones. Full rows take vectors, partial ones the
     * same arithmetic per element, so an element's value does not depend on where the tile edges fall.
     */
    static void store(GemmProblem g, float[] tile, int i0, int rows, int j0, int cols, boolean first) {
        float alpha = g.alpha();
        float beta = first ? g.beta() : 1f;
        boolean overwrite = first && g.beta() == 0f;
        FloatVector alphas = FloatVector.broadcast(S, alpha);
        FloatVector betas = FloatVector.broadcast(S, beta);
        float[] c = g.c();
        for (int i = 0; i < rows; i++) {
            int ci = g.offC() + (i0 + i) * g.ldc() + j0;
            int ti = i * NR;
            int j = 0;
            if (cols == NR) {
                for (; j < NR; j += L) {
                    FloatVector t = FloatVector.fromArray(S, tile, ti + j).mul(alphas);
                    if (!overwrite) t = FloatVector.fromArray(S, c, ci + j).fma(betas, t);
                    t.intoArray(c, ci + j);
                }
            }
            for (; j < cols; j++) {
                float t = tile[ti + j] * alpha;
                c[ci + j] = overwrite ? t : Math.fma(c[ci + j], beta, t);
            }
        }
    }
}
