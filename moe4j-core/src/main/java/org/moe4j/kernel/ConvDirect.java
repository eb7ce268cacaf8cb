package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Stride-1 convolutions computed straight from a zero-padded copy of each image, without unfolding it into
 * columns (im2col) and packing those for a GEMM: the unfolded matrix is nine times the image for a 3x3 kernel,
 * and writing and re-reading it cost more than the multiply-adds on CNN-sized layers.
 *
 * <p>The trick is the "virtual pixel": in an image padded to {@code Hp x Wp}, output pixel (y, z) reads tap
 * (c, i, j) at {@code c*Hp*Wp + i*Wp + j + (y*Wp + z)}. Numbering output pixels as {@code v = y*Wp + z} (the
 * columns z >= OW are computed and thrown away) makes every tap a contiguous run of the padded image, so a
 * register tile loads its pixels as plain vectors at {@code tapOffset[t] + v}. The backward pass to the input is
 * the same convolution of the output gradient with the kernels flipped and the channels swapped; the backward
 * pass to the weights broadcasts the same runs against the output gradient transposed to [pixel][channel].
 *
 * <p>Every output element is a sum over taps (or over pixels, then images in chunk order) in a fixed order, so
 * results depend on the thread count only where {@link Conv}'s do.
 */
final class ConvDirect {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int L = S.length();
    /** Output channels per forward tile (8 rows x 2 vectors: 16 accumulators). */
    private static final int MR = 8;
    /** Virtual pixels per forward tile. */
    private static final int NR = 2 * L;
    /** Taps per weight-gradient tile (12 rows x 2 vectors: 24 accumulators). */
    private static final int TR = 12;
    /** Output channels per weight-gradient tile. */
    private static final int OR = 2 * L;
    /** Pixels per block of the output-gradient transpose. */
    private static final int TRANSPOSE_BLOCK = 32;

    private ConvDirect() {}

    /** The padded image and the tap offsets into it, for one geometry. */
    private record Padded(int hp, int wp, int plane, int[] tapOffset, int size) {
        /**
         * Rows of the padded image are {@code pitch} apart (at least W + 2 pad; wider rows are extra zero
         * columns). Reads reach {@code pixelsRead} virtual pixels past the last tap's offset.
         */
        static Padded of(Conv.Geometry g, int pitch, int pixelsRead) {
            int hp = g.h() + 2 * g.ph();
            int plane = hp * pitch;
            int[] off = new int[g.ckk()];
            for (int c = 0, t = 0; c < g.c(); c++) {
                for (int i = 0; i < g.kh(); i++) {
                    for (int j = 0; j < g.kw(); j++) off[t++] = c * plane + i * pitch + j;
                }
            }
            int size = Math.max(g.c() * plane, off[off.length - 1] + pixelsRead);
            return new Padded(hp, pitch, plane, off, size);
        }

        /** Copies image n of x [N, C, H, W] into the interior of xp, whose border stays zero. */
        void fill(float[] x, int xo, int n, Conv.Geometry g, float[] xp) {
            for (int c = 0; c < g.c(); c++) {
                int src = xo + (n * g.c() + c) * g.h() * g.w();
                int dst = c * plane + g.ph() * wp + g.pw();
                for (int h = 0; h < g.h(); h++, src += g.w(), dst += wp) System.arraycopy(x, src, xp, dst, g.w());
            }
        }
    }

    /** Whether the direct path serves this convolution: stride 1 on both axes. */
    static boolean forwardApplies(Conv.Geometry g) {
        return g.sh() == 1 && g.sw() == 1;
    }

    /** The backward to the input is a stride-1 convolution with padding kernel-1-pad, which must not be negative. */
    static boolean backwardInputApplies(Conv.Geometry g) {
        return forwardApplies(g) && g.ph() <= g.kh() - 1 && g.pw() <= g.kw() - 1;
    }

    // ---- forward ---------------------------------------------------------------------------------------------

    /**
     * out [N, O, OH, OW] = conv(x [N, C, H, W], w [O, C, kh, kw]) + bias (or none), stride 1. The padded rows are
     * a whole number of vectors long, so each accumulator of a tile covers part of one output row and is stored
     * straight from its register, the columns past OW masked off.
     */
    static void forward(float[] x, int xo, float[] w, int wo, float[] bias, Conv.Geometry g, float[] out) {
        int taps = g.ckk();
        int panels = (g.o() + MR - 1) / MR;
        // Weights as MR-channel panels [taps][MR], zero rows past O: the tile broadcasts down a panel.
        float[] wp = new float[panels * taps * MR];
        for (int o = 0; o < g.o(); o++) {
            int dst = (o / MR) * taps * MR + o % MR;
            for (int t = 0, src = wo + o * taps; t < taps; t++, dst += MR) wp[dst] = w[src + t];
        }
        float[] b = bias != null ? bias : new float[g.o()];
        int pitch = roundUp(g.w() + 2 * g.pw(), L);
        int virtualPixels = g.oh() * pitch;
        Padded pad = Padded.of(g, pitch, roundUp(virtualPixels, NR));
        Parallel.forRange(g.n(), g.grain(), (from, to) -> {
            float[] xp = new float[pad.size()];
            for (int n = from; n < to; n++) {
                pad.fill(x, xo, n, g, xp);
                for (int v0 = 0; v0 < virtualPixels; v0 += NR) {
                    for (int p = 0; p < panels; p++) {
                        kernel(taps, wp, p * taps * MR, xp, pad.tapOffset(), v0, pitch, g, n, p * MR, b, out);
                    }
                }
            }
        });
    }

    /**
     * Output channels [o0, o0 + MR) of image n at virtual pixels [v0, v0 + NR): {@code sum over t of
     * wp[ai + t*MR + r] * xp[tapOffset[t] + v0 + l]} in t order by fused multiply-adds, plus the bias, stored
     * into out. Written out so that the 16 accumulators stay in registers.
     */
    private static void kernel(int taps, float[] wp, int ai, float[] xp, int[] tapOffset, int v0, int pitch,
            Conv.Geometry g, int n, int o0, float[] bias, float[] out) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        FloatVector c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int t = 0; t < taps; t++, ai += MR) {
            int bi = tapOffset[t] + v0;
            FloatVector b0 = FloatVector.fromArray(S, xp, bi);
            FloatVector b1 = FloatVector.fromArray(S, xp, bi + L);
            FloatVector a = FloatVector.broadcast(S, wp[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, wp[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, wp[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, wp[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, wp[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, wp[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(S, wp[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, wp[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
        }
        // Each half of the tile lies in one output row y, columns z .. z + L - 1, of which those below OW are real.
        int ohw = g.ohw();
        int ow = g.ow();
        int rows = Math.min(MR, g.o() - o0);
        int y0 = v0 / pitch, z0 = v0 % pitch;
        int y1 = (v0 + L) / pitch, z1 = (v0 + L) % pitch;
        boolean live0 = y0 < g.oh() && z0 < ow;
        boolean live1 = y1 < g.oh() && z1 < ow;
        VectorMask<Float> m0 = S.indexInRange(z0, ow);
        VectorMask<Float> m1 = S.indexInRange(z1, ow);
        int base = (n * g.o() + o0) * ohw;
        int d0 = base + y0 * ow + z0;
        int d1 = base + y1 * ow + z1;
        // Rows past O (the last panel's padding) are not stored. Written out: vectors passed to a helper the JIT
        // might not inline would be boxed.
        if (rows > 0) {
            float bias0 = bias[o0 + 0];
            if (live0) c00.add(bias0).intoArray(out, d0, m0);
            if (live1) c01.add(bias0).intoArray(out, d1, m1);
        }
        if (rows > 1) {
            float bias1 = bias[o0 + 1];
            if (live0) c10.add(bias1).intoArray(out, d0 + ohw, m0);
            if (live1) c11.add(bias1).intoArray(out, d1 + ohw, m1);
        }
        if (rows > 2) {
            float bias2 = bias[o0 + 2];
            if (live0) c20.add(bias2).intoArray(out, d0 + 2 * ohw, m0);
            if (live1) c21.add(bias2).intoArray(out, d1 + 2 * ohw, m1);
        }
        if (rows > 3) {
            float bias3 = bias[o0 + 3];
            if (live0) c30.add(bias3).intoArray(out, d0 + 3 * ohw, m0);
            if (live1) c31.add(bias3).intoArray(out, d1 + 3 * ohw, m1);
        }
        if (rows > 4) {
            float bias4 = bias[o0 + 4];
            if (live0) c40.add(bias4).intoArray(out, d0 + 4 * ohw, m0);
            if (live1) c41.add(bias4).intoArray(out, d1 + 4 * ohw, m1);
        }
        if (rows > 5) {
            float bias5 = bias[o0 + 5];
            if (live0) c50.add(bias5).intoArray(out, d0 + 5 * ohw, m0);
            if (live1) c51.add(bias5).intoArray(out, d1 + 5 * ohw, m1);
        }
        if (rows > 6) {
            float bias6 = bias[o0 + 6];
            if (live0) c60.add(bias6).intoArray(out, d0 + 6 * ohw, m0);
            if (live1) c61.add(bias6).intoArray(out, d1 + 6 * ohw, m1);
        }
        if (rows > 7) {
            float bias7 = bias[o0 + 7];
            if (live0) c70.add(bias7).intoArray(out, d0 + 7 * ohw, m0);
            if (live1) c71.add(bias7).intoArray(out, d1 + 7 * ohw, m1);
        }
    }

    // ---- backward to the input -------------------------------------------------------------------------------

    /**
     * gx [N, C, H, W] from gradOut [N, O, OH, OW]: the stride-1 convolution of gradOut with the kernels flipped
     * in both axes and input and output channels swapped, padded by kernel - 1 - pad.
     */
    static void backwardInput(float[] gOut, int go, float[] w, int wo, Conv.Geometry g, float[] gx) {
        int kh = g.kh(), kw = g.kw();
        float[] flipped = new float[g.c() * g.o() * kh * kw]; // [C, O, kh, kw]
        for (int o = 0; o < g.o(); o++) {
            for (int c = 0; c < g.c(); c++) {
                for (int i = 0; i < kh; i++) {
                    for (int j = 0; j < kw; j++) {
                        flipped[((c * g.o() + o) * kh + kh - 1 - i) * kw + kw - 1 - j] =
                                w[wo + ((o * g.c() + c) * kh + i) * kw + j];
                    }
                }
            }
        }
        Conv.Geometry back = new Conv.Geometry(g.n(), g.o(), g.oh(), g.ow(), g.c(), kh, kw, 1, 1,
                kh - 1 - g.ph(), kw - 1 - g.pw(), g.h(), g.w());
        forward(gOut, go, flipped, 0, null, back, gx);
    }

    // ---- backward to the weights -----------------------------------------------------------------------------

    /**
     * The weight gradient [O, C, kh, kw] summed over the batch: {@code gw[o][t] = sum over n, pixels of
     * gradOut[n][o][pixel] * xp_n[tapOffset[t] + pixel]}. Each chunk of the batch sums into its own partial,
     * added in chunk order afterwards.
     */
    static float[] backwardWeight(float[] gOut, int go, float[] x, int xo, Conv.Geometry g) {
        int taps = g.ckk();
        int o = g.o();
        int ohw = g.ohw();
        int oPanels = (o + OR - 1) / OR;
        int tPanels = (taps + TR - 1) / TR;
        int pitch = g.w() + 2 * g.pw();
        Padded pad = Padded.of(g, pitch, g.oh() * pitch);
        int chunks = Parallel.chunks(g.n(), g.grain());
        float[][] partials = new float[chunks][];
        Parallel.forChunks(g.n(), chunks, (chunk, from, to) -> {
            float[] acc = new float[taps * o]; // [taps, O]
            float[] xp = new float[pad.size()];
            float[] gt = new float[oPanels * ohw * OR]; // gradOut of one image as panels [pixel][OR channels]
            float[] tile = new float[TR * OR];
            int[] rowOffset = new int[TR];
            for (int n = from; n < to; n++) {
                pad.fill(x, xo, n, g, xp);
                // Transposed in blocks of pixels, so that the block's rows of gt stay in L1 while every
                // channel writes its column into them.
                for (int q0 = 0; q0 < ohw; q0 += TRANSPOSE_BLOCK) {
                    int q1 = Math.min(ohw, q0 + TRANSPOSE_BLOCK);
                    for (int c = 0; c < o; c++) {
                        int src = go + (n * o + c) * ohw;
                        int dst = (c / OR) * ohw * OR + c % OR;
                        for (int q = q0; q < q1; q++) gt[dst + q * OR] = gOut[src + q];
                    }
                }
                for (int tp = 0; tp < tPanels; tp++) {
                    int t0 = tp * TR;
                    int rows = Math.min(TR, taps - t0);
                    // Rows past the last tap repeat tap t0; their sums are not kept.
                    for (int r = 0; r < TR; r++) rowOffset[r] = pad.tapOffset()[r < rows ? t0 + r : t0];
                    for (int op = 0; op < oPanels; op++) {
                        if (g.kw() == 3) {
                            weightKernel3(xp, rowOffset, g.oh(), g.ow(), pad.wp(), gt, op * ohw * OR, tile);
                        } else {
                            weightKernel(xp, rowOffset, g.oh(), g.ow(), pad.wp(), gt, op * ohw * OR, tile);
                        }
                        int cols = Math.min(OR, o - op * OR);
                        for (int r = 0; r < rows; r++) {
                            int dst = (t0 + r) * o + op * OR;
                            for (int l = 0; l < cols; l++) acc[dst + l] += tile[r * OR + l];
                        }
                    }
                }
            }
            partials[chunk] = acc;
        });
        float[] gw = new float[o * taps]; // [O, taps]
        for (float[] part : partials) {
            for (int t = 0; t < taps; t++) {
                for (int c = 0; c < o; c++) gw[c * taps + t] += part[t * o + c];
            }
        }
        return gw;
    }

    /**
     * {@code tile[r][l] = sum over pixels (y, z) of xp[rowOffset[r] + y*wp + z] * gt[bi + (y*ow + z)*OR + l]}, in
     * pixel order; the twelve tap rows are twelve runs through the padded image.
     */
    private static void weightKernel(float[] xp, int[] rowOffset, int oh, int ow, int wp, float[] gt, int bi,
            float[] tile) {
        int a0 = rowOffset[0], a1 = rowOffset[1], a2 = rowOffset[2], a3 = rowOffset[3], a4 = rowOffset[4];
        int a5 = rowOffset[5], a6 = rowOffset[6], a7 = rowOffset[7], a8 = rowOffset[8], a9 = rowOffset[9];
        int a10 = rowOffset[10], a11 = rowOffset[11];
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        FloatVector c60 = c00, c61 = c00, c70 = c00, c71 = c00, c80 = c00, c81 = c00;
        FloatVector c90 = c00, c91 = c00, ca0 = c00, ca1 = c00, cb0 = c00, cb1 = c00;
        for (int y = 0; y < oh; y++) {
            for (int z = 0, v = y * wp; z < ow; z++, v++, bi += OR) {
                FloatVector b0 = FloatVector.fromArray(S, gt, bi);
                FloatVector b1 = FloatVector.fromArray(S, gt, bi + L);
                FloatVector a = FloatVector.broadcast(S, xp[a0 + v]);
                c00 = a.fma(b0, c00);
                c01 = a.fma(b1, c01);
                a = FloatVector.broadcast(S, xp[a1 + v]);
                c10 = a.fma(b0, c10);
                c11 = a.fma(b1, c11);
                a = FloatVector.broadcast(S, xp[a2 + v]);
                c20 = a.fma(b0, c20);
                c21 = a.fma(b1, c21);
                a = FloatVector.broadcast(S, xp[a3 + v]);
                c30 = a.fma(b0, c30);
                c31 = a.fma(b1, c31);
                a = FloatVector.broadcast(S, xp[a4 + v]);
                c40 = a.fma(b0, c40);
                c41 = a.fma(b1, c41);
                a = FloatVector.broadcast(S, xp[a5 + v]);
                c50 = a.fma(b0, c50);
                c51 = a.fma(b1, c51);
                a = FloatVector.broadcast(S, xp[a6 + v]);
                c60 = a.fma(b0, c60);
                c61 = a.fma(b1, c61);
                a = FloatVector.broadcast(S, xp[a7 + v]);
                c70 = a.fma(b0, c70);
                c71 = a.fma(b1, c71);
                a = FloatVector.broadcast(S, xp[a8 + v]);
                c80 = a.fma(b0, c80);
                c81 = a.fma(b1, c81);
                a = FloatVector.broadcast(S, xp[a9 + v]);
                c90 = a.fma(b0, c90);
                c91 = a.fma(b1, c91);
                a = FloatVector.broadcast(S, xp[a10 + v]);
                ca0 = a.fma(b0, ca0);
                ca1 = a.fma(b1, ca1);
                a = FloatVector.broadcast(S, xp[a11 + v]);
                cb0 = a.fma(b0, cb0);
                cb1 = a.fma(b1, cb1);
            }
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, OR);
        c11.intoArray(tile, OR + L);
        c20.intoArray(tile, 2 * OR);
        c21.intoArray(tile, 2 * OR + L);
        c30.intoArray(tile, 3 * OR);
        c31.intoArray(tile, 3 * OR + L);
        c40.intoArray(tile, 4 * OR);
        c41.intoArray(tile, 4 * OR + L);
        c50.intoArray(tile, 5 * OR);
        c51.intoArray(tile, 5 * OR + L);
        c60.intoArray(tile, 6 * OR);
        c61.intoArray(tile, 6 * OR + L);
        c70.intoArray(tile, 7 * OR);
        c71.intoArray(tile, 7 * OR + L);
        c80.intoArray(tile, 8 * OR);
        c81.intoArray(tile, 8 * OR + L);
        c90.intoArray(tile, 9 * OR);
        c91.intoArray(tile, 9 * OR + L);
        ca0.intoArray(tile, 10 * OR);
        ca1.intoArray(tile, 10 * OR + L);
        cb0.intoArray(tile, 11 * OR);
        cb1.intoArray(tile, 11 * OR + L);
    }

    /**
     * {@link #weightKernel} for 3-wide kernels: a panel's twelve taps are four kernel rows of three neighbouring
     * columns (twelve divides into whole rows of three), so four base offsets address them, plus 0, 1 and 2.
     * Fewer live offsets leave the JIT general registers to spare. Same sums in the same order.
     */
    private static void weightKernel3(float[] xp, int[] rowOffset, int oh, int ow, int wp, float[] gt, int bi,
            float[] tile) {
        int r0 = rowOffset[0], r1 = rowOffset[3], r2 = rowOffset[6], r3 = rowOffset[9];
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        FloatVector c60 = c00, c61 = c00, c70 = c00, c71 = c00, c80 = c00, c81 = c00;
        FloatVector c90 = c00, c91 = c00, ca0 = c00, ca1 = c00, cb0 = c00, cb1 = c00;
        for (int y = 0; y < oh; y++) {
            for (int z = 0, v = y * wp; z < ow; z++, v++, bi += OR) {
                FloatVector b0 = FloatVector.fromArray(S, gt, bi);
                FloatVector b1 = FloatVector.fromArray(S, gt, bi + L);
                FloatVector a = FloatVector.broadcast(S, xp[r0 + v]);
                c00 = a.fma(b0, c00);
                c01 = a.fma(b1, c01);
                a = FloatVector.broadcast(S, xp[r0 + v + 1]);
                c10 = a.fma(b0, c10);
                c11 = a.fma(b1, c11);
                a = FloatVector.broadcast(S, xp[r0 + v + 2]);
                c20 = a.fma(b0, c20);
                c21 = a.fma(b1, c21);
                a = FloatVector.broadcast(S, xp[r1 + v]);
                c30 = a.fma(b0, c30);
                c31 = a.fma(b1, c31);
                a = FloatVector.broadcast(S, xp[r1 + v + 1]);
                c40 = a.fma(b0, c40);
                c41 = a.fma(b1, c41);
                a = FloatVector.broadcast(S, xp[r1 + v + 2]);
                c50 = a.fma(b0, c50);
                c51 = a.fma(b1, c51);
                a = FloatVector.broadcast(S, xp[r2 + v]);
                c60 = a.fma(b0, c60);
                c61 = a.fma(b1, c61);
                a = FloatVector.broadcast(S, xp[r2 + v + 1]);
                c70 = a.fma(b0, c70);
                c71 = a.fma(b1, c71);
                a = FloatVector.broadcast(S, xp[r2 + v + 2]);
                c80 = a.fma(b0, c80);
                c81 = a.fma(b1, c81);
                a = FloatVector.broadcast(S, xp[r3 + v]);
                c90 = a.fma(b0, c90);
                c91 = a.fma(b1, c91);
                a = FloatVector.broadcast(S, xp[r3 + v + 1]);
                ca0 = a.fma(b0, ca0);
                ca1 = a.fma(b1, ca1);
                a = FloatVector.broadcast(S, xp[r3 + v + 2]);
                cb0 = a.fma(b0, cb0);
                cb1 = a.fma(b1, cb1);
            }
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, OR);
        c11.intoArray(tile, OR + L);
        c20.intoArray(tile, 2 * OR);
        c21.intoArray(tile, 2 * OR + L);
        c30.intoArray(tile, 3 * OR);
        c31.intoArray(tile, 3 * OR + L);
        c40.intoArray(tile, 4 * OR);
        c41.intoArray(tile, 4 * OR + L);
        c50.intoArray(tile, 5 * OR);
        c51.intoArray(tile, 5 * OR + L);
        c60.intoArray(tile, 6 * OR);
        c61.intoArray(tile, 6 * OR + L);
        c70.intoArray(tile, 7 * OR);
        c71.intoArray(tile, 7 * OR + L);
        c80.intoArray(tile, 8 * OR);
        c81.intoArray(tile, 8 * OR + L);
        c90.intoArray(tile, 9 * OR);
        c91.intoArray(tile, 9 * OR + L);
        ca0.intoArray(tile, 10 * OR);
        ca1.intoArray(tile, 10 * OR + L);
        cb0.intoArray(tile, 11 * OR);
        cb1.intoArray(tile, 11 * OR + L);
    }

    private static int roundUp(int n, int unit) {
        return (n + unit - 1) / unit * unit;
    }
}
