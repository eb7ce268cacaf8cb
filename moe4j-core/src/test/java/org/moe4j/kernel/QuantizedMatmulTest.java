package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Float16s;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.Quantization;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Tensor;

class QuantizedMatmulTest {
    private static float[] randn(Rng rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rng.normal();
        return a;
    }

    private static QuantizedTensor fileWeight(Rng rng, QuantFormat f, int n, int k) {
        if (f.canQuantize()) return QuantizedTensor.quantize(Tensor.of(randn(rng, n * k), n, k), f);
        // K-quants moe4j only reads: random blocks whose f16 scales (d, dmin) are small and finite
        int[] scales = switch (f) {
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            case Q3_K -> new int[] {108};
            default -> throw new IllegalArgumentException(f.toString());
        };
        byte[] b = new byte[Math.toIntExact(f.bytesFor((long) n * k))];
        for (int i = 0; i < b.length; i++) b[i] = (byte) rng.nextInt(256);
        MemorySegment seg = MemorySegment.ofArray(b);
        for (int at = 0; at < b.length; at += f.blockBytes()) {
            for (int o : scales) seg.set(Quantization.I16_LE, at + o, Float16s.toF16((float) (rng.normal() * 0.01)));
        }
        return new QuantizedTensor(f, n, k, seg);
    }

    private static PackedWeight weight(Rng rng, QuantFormat f, int n, int k) {
        return PackedWeight.of(fileWeight(rng, f, n, k));
    }

    private static int cols(Rng rng, QuantFormat f) {
        return f.isBlockQuantized() ? f.blockSize() * (1 + rng.nextInt(f.blockSize() == 32 ? 6 : 2)) : 1 + rng.nextInt(90);
    }

    @Test
    void fastPathEqualsTheReferenceBitForBit() {
        Rng rng = new Rng(11);
        for (QuantFormat f : QuantFormat.values()) {
            if (!PackedWeight.supports(f)) continue; // decoded to float32 at load, never packed
            for (int trial = 0; trial < 6; trial++) {
                int m = 1 + rng.nextInt(5);
                int n = 1 + rng.nextInt(40);
                int k = cols(rng, f);
                PackedWeight w = weight(rng, f, n, k);
                float[] x = randn(rng, m * k + 3);
                float[] fast = new float[m * n + 2];
                float[] ref = new float[m * n + 2];
                QuantizedMatmul.matmul(x, 3, m, w, fast, 2);
                QuantizedMatmul.matmulReference(x, 3, m, w, ref, 2);
                assertArrayEquals(ref, fast, 0f, f + " m=" + m + " n=" + n + " k=" + k);
            }
        }
    }

    @Test
    void kQuantTilesHoldGgmlsValuesBitForBit() {
        Rng rng = new Rng(19);
        for (QuantFormat f : new QuantFormat[] {QuantFormat.Q3_K, QuantFormat.Q4_K, QuantFormat.Q5_K, QuantFormat.Q6_K}) {
            QuantizedTensor file = fileWeight(rng, f, 11, 512); // random bytes: every level and 6-bit scale pattern
            PackedWeight packed = PackedWeight.grouped(file, 1);
            float[] tiled = new float[512], ref = new float[512];
            for (int r = 0; r < 11; r++) {
                packed.dequantizeRow(r, tiled, 0);
                Quantization.dequantizeRow(f, file.data(), r * file.rowBytes(), ref, 0, 512);
                for (int i = 0; i < 512; i++) {
                    assertEquals(Float.floatToRawIntBits(ref[i]), Float.floatToRawIntBits(tiled[i]), f + " row " + r + " value " + i);
                }
            }
        }
    }

    @Test
    void agreesWithDequantizeThenMatmul() {
        Rng rng = new Rng(12);
        for (QuantFormat f : QuantFormat.values()) {
            if (!PackedWeight.supports(f)) continue; // decoded to float32 at load, never packed
            int m = 3;
            int n = 17;
            int k = f.isBlockQuantized() ? (f.blockSize() == 32 ? 160 : 512) : 75;
            QuantizedTensor file = fileWeight(rng, f, n, k);
            float[] wd = file.dequantize().toFloatArray();
            float[] x = randn(rng, m * k);
            float[] y = QuantizedMatmul.matmul(Tensor.of(x, m, k), PackedWeight.of(file)).toFloatArray();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double exact = 0;
                    double mag = 0;
                    for (int p = 0; p < k; p++) {
                        exact += (double) x[i * k + p] * wd[j * k + p];
                        mag += Math.abs((double) x[i * k + p] * wd[j * k + p]);
                    }
                    double err = Math.abs(y[i * n + j] - exact);
                    assertTrue(err <= 1e-5 * mag + 1e-6, f + " y[" + i + "," + j + "] = " + y[i * n + j]
                            + ", dequantized reference " + exact);
                }
            }
        }
    }

    @Test
    void rowsDoNotDependOnBatchSizeOrThreadCount() {
        Rng rng = new Rng(13);
        int threads = Parallel.threads();
        try {
            for (QuantFormat f : new QuantFormat[] {QuantFormat.Q8_0, QuantFormat.Q4_0, QuantFormat.F32, QuantFormat.Q4_K,
                    QuantFormat.Q6_K}) {
                int m = 5;
                int n = 67;
                int k = 256;
                PackedWeight w = weight(rng, f, n, k);
                float[] x = randn(rng, m * k);
                Parallel.setThreads(3);
                float[] batch = new float[m * n];
                QuantizedMatmul.matmul(x, 0, m, w, batch, 0);
                Parallel.setThreads(1);
                for (int i = 0; i < m; i++) {
                    float[] one = new float[n];
                    QuantizedMatmul.matmul(x, i * k, 1, w, one, 0);
                    float[] row = java.util.Arrays.copyOfRange(batch, i * n, (i + 1) * n);
                    assertArrayEquals(one, row, 0f, f + " row " + i);
                }
            }
        } finally {
            Parallel.setThreads(threads);
        }
    }

    @Test
    void expertSliceIsTheSameMatrixRows() {
        Rng rng = new Rng(14);
        QuantizedTensor stacked = fileWeight(rng, QuantFormat.Q8_0, 4 * 6, 64); // [experts * rows, cols]
        float[] x = randn(rng, 64);
        for (PackedWeight whole : new PackedWeight[] {PackedWeight.of(stacked), PackedWeight.grouped(stacked, 4)}) {
            float[] all = QuantizedMatmul.matmul(Tensor.of(x, 64), whole).toFloatArray();
            float[] part = QuantizedMatmul.matmul(Tensor.of(x, 64), PackedWeight.of(stacked.rows(12, 18))).toFloatArray();
            assertArrayEquals(java.util.Arrays.copyOfRange(all, 12, 18), part, 0f, whole.toString());
        }
    }

    @Test
    void wideShapesHitTheTilesPanelAndEdgesBitForBit() {
        // n past several 16-row units plus an edge, m from 1 (direct tiles) to 9 (panel), with 1 and 2 threads
        Rng rng = new Rng(15);
        int threads = Parallel.threads();
        try {
            for (QuantFormat f : new QuantFormat[] {QuantFormat.Q8_0, QuantFormat.Q4_0, QuantFormat.F16, QuantFormat.Q6_K,
                    QuantFormat.Q5_K, QuantFormat.Q4_K}) {
                for (int m : new int[] {1, 2, 9}) {
                    int n = 16 * 3 + 5;
                    int k = f.isKQuant() ? 256 * 2 : 32 * 9;
                    PackedWeight w = weight(rng, f, n, k);
                    float[] x = randn(rng, m * k);
                    float[] ref = new float[m * n];
                    QuantizedMatmul.matmulReference(x, 0, m, w, ref, 0);
                    for (int t : new int[] {1, 2}) {
                        Parallel.setThreads(t);
                        float[] fast = new float[m * n];
                        QuantizedMatmul.matmul(x, 0, m, w, fast, 0);
                        assertArrayEquals(ref, fast, 0f, f + " m=" + m + " threads=" + t);
                    }
                }
            }
        } finally {
            Parallel.setThreads(threads);
        }
    }

    @Test
    void everyFormatIsDotGemmOnTheFilesDecodedWeights() {
        Rng rng = new Rng(16);
        for (QuantFormat f : QuantFormat.values()) {
            if (!PackedWeight.supports(f)) continue; // decoded to float32 at load, never packed
            for (int m : new int[] {1, 3, 9}) {
                int n = 21, k = f.isBlockQuantized() ? 3 * f.blockSize() : 70;
                QuantizedTensor file = fileWeight(rng, f, n, k);
                float[] x = randn(rng, m * k);
                float[] q = new float[m * n];
                QuantizedMatmul.matmul(x, 0, m, PackedWeight.of(file), q, 0);
                float[] d = new float[m * n];
                DotGemm.reference(m, n, k, x, 0, k, file.dequantize().toFloatArray(), 0, k, null, 0, d, 0, n);
                assertArrayEquals(d, q, 0f, f + " m=" + m);
            }
        }
    }

    @Test
    void groupedEqualsEachGroupAloneAndLinearAddsTheBias() {
        Rng rng = new Rng(17);
        for (QuantFormat f : new QuantFormat[] {QuantFormat.Q4_0, QuantFormat.Q6_K, QuantFormat.Q5_K, QuantFormat.Q4_K}) {
            groupedEqualsEachGroupAloneAndLinearAddsTheBias(rng, f, f.isKQuant() ? 256 : 96);
        }
    }

    private static void groupedEqualsEachGroupAloneAndLinearAddsTheBias(Rng rng, QuantFormat f, int k) {
        int groups = 4, n = 13; // 13 rows: each group's last tile is padded
        QuantizedTensor file = fileWeight(rng, f, groups * n, k);
        PackedWeight w = PackedWeight.grouped(file, groups);
        int[] offsets = {0, 3, 3, 4, 9};
        Tensor x = Tensor.of(randn(rng, 9 * k), 9, k);
        int threads = Parallel.threads();
        try {
            Parallel.setThreads(2);
            float[] y = QuantizedMatmul.grouped(x, w, offsets).toFloatArray();
            for (int g = 0; g < groups; g++) {
                int rows = offsets[g + 1] - offsets[g];
                if (rows == 0) continue;
                float[] alone = new float[rows * n];
                QuantizedMatmul.matmulReference(x.floats(), offsets[g] * k, rows, PackedWeight.of(file.rows(g * n, (g + 1) * n)),
                        alone, 0);
                assertArrayEquals(alone, java.util.Arrays.copyOfRange(y, offsets[g] * n, offsets[g + 1] * n), 0f,
                        f + " group " + g);
            }
        } finally {
            Parallel.setThreads(threads);
        }
        PackedWeight w1 = PackedWeight.of(file.rows(0, n));
        Tensor bias = Tensor.of(randn(rng, n), n);
        float[] plain = QuantizedMatmul.matmul(x, w1).toFloatArray();
        float[] lin = QuantizedMatmul.linear(x.reshape(3, 3, k), w1, bias).toFloatArray();
        for (int i = 0; i < plain.length; i++) assertEquals(plain[i] + bias.floats()[i % n], lin[i], 0f);
    }

    @Test
    void packingKeepsEveryValueOfEveryRow() {
        Rng rng = new Rng(18);
        for (QuantFormat f : QuantFormat.values()) {
            if (!PackedWeight.supports(f)) continue; // decoded to float32 at load, never packed
            for (int groups : new int[] {1, 3}) {
                int n = groups * (1 + rng.nextInt(20)), k = cols(rng, f);
                QuantizedTensor file = fileWeight(rng, f, n, k);
                PackedWeight packed = PackedWeight.grouped(file, groups);
                float[] expected = new float[k], actual = new float[k];
                for (int r = 0; r < n; r++) {
                    file.dequantizeRow(r, expected, 0);
                    packed.dequantizeRow(r, actual, 0);
                    assertArrayEquals(expected, actual, 0f, packed + " row " + r);
                }
            }
        }
        assertThrows(org.moe4j.common.Moe4jException.class, () -> PackedWeight.grouped(fileWeight(rng, QuantFormat.Q8_0, 10,
                32), 3));
    }

    @Test
    void wrongInnerDimensionNamesTheOp() {
        PackedWeight w = weight(new Rng(1), QuantFormat.Q4_0, 3, 64);
        ShapeException e = assertThrows(ShapeException.class,
                () -> QuantizedMatmul.matmul(Tensor.zeros(2, 63), w));
        assertTrue(e.getMessage().contains("quantized matmul"), e.getMessage());
    }
}
