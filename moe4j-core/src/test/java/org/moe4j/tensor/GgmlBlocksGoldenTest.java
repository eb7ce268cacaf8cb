package org.moe4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.moe4j.common.Moe4jException;

/**
 * The formats moe4j reads but does not write decode bit for bit as ggml's own {@code to_float} does: fixtures
 * gguf/kquants/*.bin from tools/golden/make_kquant_fixtures.py hold 3 rows of 256 values as ggml's blocks (two rows
 * quantized by ggml_quantize_chunk, one of random block bytes with finite f16 scales) and ggml's float32 decoding.
 */
class GgmlBlocksGoldenTest {
    private static final int ROWS = 3, N = 256;

    @ParameterizedTest
    @EnumSource(value = QuantFormat.class, names = {"Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void decodesAsGgmlDoes(QuantFormat format) throws IOException {
        byte[] all;
        try (InputStream in = getClass().getResourceAsStream("/gguf/kquants/" + format.name().toLowerCase() + ".bin")) {
            assertNotNull(in, "fixture for " + format);
            all = in.readAllBytes();
        }
        long rowBytes = format.bytesFor(N);
        assertEquals(ROWS * rowBytes + ROWS * N * 4L, all.length, "fixture size");
        MemorySegment blocks = MemorySegment.ofArray(all).asSlice(0, ROWS * rowBytes);
        ByteBuffer expected = ByteBuffer.wrap(all, (int) (ROWS * rowBytes), ROWS * N * 4).order(ByteOrder.LITTLE_ENDIAN);
        float[] got = new float[ROWS * N];
        for (int r = 0; r < ROWS; r++) Quantization.dequantizeRow(format, blocks, r * rowBytes, got, r * N, N);
        int nonzero = 0;
        for (int i = 0; i < ROWS * N; i++) {
            float want = expected.getFloat();
            int at = i;
            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]),
                    () -> format + " row " + at / N + " value " + at % N + " differs from ggml");
            if (want != 0) nonzero++;
        }
        assertTrue(nonzero > ROWS * N / 2, "fixture is mostly non-zero");

        // A heap QuantizedTensor of the same bytes dequantizes to the same floats.
        float[] viaTensor = new QuantizedTensor(format, ROWS, N, blocks).dequantize().toFloatArray();
        for (int i = 0; i < got.length; i++) assertEquals(Float.floatToRawIntBits(got[i]), Float.floatToRawIntBits(viaTensor[i]));
    }

    @ParameterizedTest
    @EnumSource(value = QuantFormat.class, names = {"Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void readOnlyFormatsAreNotWritten(QuantFormat format) {
        assertFalse(format.canQuantize());
        float[] x = new float[format.blockSize()];
        MemorySegment out = MemorySegment.ofArray(new byte[format.blockBytes()]);
        Moe4jException e = assertThrows(Moe4jException.class, () -> Quantization.quantizeRow(format, x, 0, x.length, out, 0));
        assertTrue(e.getMessage().contains(format.name()) && e.getMessage().contains("does not write"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Quantization.dequantizeRow(format, out, 0, new float[32], 0, format.blockSize() / 2 + 1));
    }
}
