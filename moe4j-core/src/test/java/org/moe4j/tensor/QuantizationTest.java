package org.moe4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;

class QuantizationTest {
    @Test
    void q4BlockLayoutLowNibblesFirstHalf() {
        // the first value of largest magnitude is -4, so d = 0.5 and every (q - 8) * 0.5 below is exact
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = ((j * 5) % 16 - 8) * 0.5f;
        x[0] = -4f;
        byte[] b = new byte[18];
        Quantization.quantizeRow(QuantFormat.Q4_0, x, 0, 32, MemorySegment.ofArray(b), 0);
        assertEquals(0.5f, Float16s.fromF16(MemorySegment.ofArray(b).get(Quantization.I16_LE, 0)));
        for (int j = 0; j < 16; j++) {
            int lo = Math.round(x[j] / 0.5f) + 8;
            int hi = Math.round(x[j + 16] / 0.5f) + 8;
            assertEquals(lo | (hi << 4), b[2 + j] & 0xff, "byte " + j);
        }
        float[] back = new float[32];
        Quantization.dequantizeRow(QuantFormat.Q4_0, MemorySegment.ofArray(b), 0, back, 0, 32);
        assertArrayEquals(x, back, 0f);
    }

    @Test
    void q8BlockScaleAndLevels() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = j - 16; // amax 16, d = 16/127
        byte[] b = new byte[34];
        Quantization.quantizeRow(QuantFormat.Q8_0, x, 0, 32, MemorySegment.ofArray(b), 0);
        MemorySegment s = MemorySegment.ofArray(b);
        assertEquals(Float16s.toF16(16f / 127), s.get(Quantization.I16_LE, 0));
        assertEquals(-127, s.get(ValueLayout.JAVA_BYTE, 2));
        assertEquals(0, s.get(ValueLayout.JAVA_BYTE, 2 + 16));
        assertEquals(Math.round(15 * 127 / 16f), s.get(ValueLayout.JAVA_BYTE, 2 + 31));
    }

    @Test
    void roundsHalvesAwayFromZeroLikeC() {
        assertEquals(3f, Quantization.roundHalfAway(2.5f));
        assertEquals(-3f, Quantization.roundHalfAway(-2.5f));
        assertEquals(0f, Quantization.roundHalfAway(0.49999997f)); // floor(x + 0.5) would give 1
        assertEquals(2f, Quantization.roundHalfAway(1.5f));
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3f80, Float16s.toBf16(Float.intBitsToFloat(0x3f808000))); // tie: keep even
        assertEquals((short) 0x3f82, Float16s.toBf16(Float.intBitsToFloat(0x3f818000))); // tie: round up to even
        assertEquals((short) 0x3f81, Float16s.toBf16(Float.intBitsToFloat(0x3f808001)));
        assertEquals(1.5f, Float16s.fromBf16(Float16s.toBf16(1.5f)));
    }

    @Test
    void quantizedTensorChecksItsBytes() {
        assertThrows(Moe4jException.class, () -> new QuantizedTensor(QuantFormat.Q8_0, 2, 32,
                MemorySegment.ofArray(new byte[67])));
        assertThrows(Moe4jException.class, () -> new QuantizedTensor(QuantFormat.Q4_0, 1, 31,
                MemorySegment.ofArray(new byte[18])));
        QuantizedTensor t = QuantizedTensor.quantize(Tensor.of(new float[64], 2, 32), QuantFormat.Q8_0);
        assertEquals(34, t.rowBytes());
        assertArrayEquals(new float[64], t.dequantize().toFloatArray(), 0f);
    }
}
