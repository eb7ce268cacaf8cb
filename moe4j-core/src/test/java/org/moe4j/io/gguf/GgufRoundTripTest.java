package org.moe4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Tensor;

class GgufRoundTripTest {
    /** Metadata of every value type, arrays of each, nested and empty arrays, and tensors of every format. */
    static GgufWriter sample(long alignment) {
        GgufWriter w = new GgufWriter();
        if (alignment != 32) w.put("general.alignment", GgufValue.ofUint32(alignment));
        w.put("general.architecture", GgufValue.ofString("qwen2moe"));
        w.put("s.unicode", GgufValue.ofString("héllo ▁wörld 🙂"));
        long[] samples = {0, 1, 127, -1, 255};
        for (GgufValueType t : GgufValueType.values()) {
            if (t.isInteger()) {
                long v = GgufArray.fits(t, samples[t.ordinal() % samples.length]) ? samples[t.ordinal() % samples.length] : 7;
                w.put("i." + t, GgufValue.ofInteger(t, v));
                w.put("a." + t, GgufValue.ofArray(new GgufArray(t, new long[] {v, 0, v})));
            }
        }
        w.put("u64.max", GgufValue.ofUint64(-1L));
        w.put("f32", GgufValue.ofFloat32(-0.0f));
        w.put("f64", GgufValue.ofFloat64(Math.PI));
        w.put("nan", GgufValue.ofFloat32(Float.NaN));
        w.put("bool", GgufValue.ofBool(false));
        w.put("a.f32", GgufValue.ofArray(GgufArray.ofFloats(1f, 2.5f)));
        w.put("a.f64", GgufValue.ofArray(new GgufArray(GgufValueType.FLOAT64, new double[] {1e300})));
        w.put("a.bool", GgufValue.ofArray(new GgufArray(GgufValueType.BOOL, new boolean[] {true, false})));
        w.put("a.str", GgufValue.ofArray(GgufArray.ofStrings("a", "", "ü")));
        w.put("a.empty", GgufValue.ofArray(GgufArray.ofStrings()));
        w.put("a.nested", GgufValue.ofArray(new GgufArray(GgufValueType.ARRAY, new GgufArray[] {
                GgufArray.ofInts(1, 2), GgufArray.ofStrings("x"),
                new GgufArray(GgufValueType.ARRAY, new GgufArray[] {GgufArray.ofFloats()})})));
        Rng rng = new Rng(5);
        for (QuantFormat f : QuantFormat.values()) {
            int cols = cols(f);
            if (!f.canQuantize()) { // formats moe4j only reads: random blocks, copied as they are
                byte[] blocks = new byte[(int) f.bytesFor(3 * 2 * cols)];
                for (int i = 0; i < blocks.length; i++) blocks[i] = (byte) rng.nextInt(256);
                w.raw("w." + f, GgmlType.of(f), new long[] {3, 2, cols}, MemorySegment.ofArray(blocks));
                continue;
            }
            float[] v = new float[3 * 2 * cols];
            for (int i = 0; i < v.length; i++) v[i] = (float) rng.normal();
            w.add("w." + f, Tensor.of(v, 3, 2, cols), f); // 3-D, like stacked experts
            w.add("m." + f, QuantizedTensor.quantize(Tensor.of(java.util.Arrays.copyOf(v, cols), 1, cols), f));
        }
        return w;
    }

    /** Row length of the sample tensors: a few blocks, or 5 floats. */
    private static int cols(QuantFormat f) {
        return f.isBlockQuantized() ? Math.max(64, f.blockSize()) : 5;
    }

    @Test
    void everyTypeSurvivesAWriteAndAMappedRead(@TempDir Path dir) throws Exception {
        for (long alignment : new long[] {32, 64, 1}) {
            GgufWriter w = sample(alignment);
            Path file = dir.resolve("sample-" + alignment + ".gguf");
            w.write(file);
            assertFalse(Files.exists(dir.resolve("sample-" + alignment + ".gguf.tmp")));
            byte[] bytes = w.toBytes();
            assertArrayEquals(bytes, Files.readAllBytes(file));
            try (GgufFile g = GgufFile.open(file); GgufFile expected = GgufFile.parse(bytes, "mem")) {
                assertEquals(alignment, g.alignment());
                assertEquals(3, g.version());
                assertEquals(expected.metadata(), g.metadata());
                assertEquals("héllo ▁wörld 🙂", g.string("s.unicode"));
                assertEquals(-1L, g.integer("u64.max"));
                GgufArray nested = g.value("a.nested").asArray();
                assertEquals(3, nested.length());
                assertArrayEquals(new long[] {1, 2}, ((GgufArray[]) nested.values())[0].longs());
                for (QuantFormat f : QuantFormat.values()) {
                    GgufTensorInfo info = g.info("w." + f);
                    assertEquals(GgmlType.of(f), info.type());
                    assertEquals(0, info.offset() % alignment);
                    int cols = cols(f);
                    assertArrayEquals(new long[] {3, 2, cols}, info.shape());
                    QuantizedTensor q = g.quantized("w." + f);
                    assertEquals(6, q.rows());
                    assertArrayEquals(expected.segment("w." + f).toArray(ValueLayout.JAVA_BYTE),
                            q.data().toArray(ValueLayout.JAVA_BYTE));
                    Tensor t = g.tensor("w." + f);
                    assertArrayEquals(new int[] {3, 2, cols}, t.shape());
                    assertArrayEquals(q.dequantize().toFloatArray(), t.toFloatArray(), 0f);
                }
            }
        }
    }

    @Test
    void writerRefusesWhatLlamaCppCouldNotRead() {
        GgufWriter w = new GgufWriter();
        Tensor t = Tensor.zeros(2, 32);
        w.add("x", t, QuantFormat.Q8_0);
        assertThrows(Moe4jException.class, () -> w.add("x", t, QuantFormat.Q8_0));
        assertThrows(Moe4jException.class, () -> w.add("n".repeat(64), t, QuantFormat.F32));
        assertThrows(Moe4jException.class, () -> w.add("odd", Tensor.zeros(2, 33), QuantFormat.Q4_0));
        assertThrows(Moe4jException.class, () -> w.put("general.alignment", GgufValue.ofUint32(24)));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.ofInteger(GgufValueType.UINT8, 256));
    }
}
