package org.moe4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Quantization;
import org.moe4j.tensor.Tensor;

/**
 * Against ggml itself (fixtures from tools/golden/make_gguf_fixtures.py, which calls ggml's C library): our
 * quantizers produce ggml's bytes, our decoders ggml's floats, we read a GGUF file ggml wrote, and our writer
 * rebuilds that file byte for byte.
 */
class GgufGoldenTest {
    static byte[] resource(String name) {
        try (InputStream in = GgufGoldenTest.class.getResourceAsStream("/gguf/" + name)) {
            if (in == null) throw new IllegalStateException("missing test resource gguf/" + name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static float[] floats(String name) {
        byte[] b = resource(name);
        float[] f = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    private static byte[] quantize(QuantFormat format, float[] x, int n) {
        byte[] out = new byte[(int) format.bytesFor(n)];
        Quantization.quantizeRow(format, x, 0, n, MemorySegment.ofArray(out), 0);
        return out;
    }

    @Test
    void quantizersMatchGgmlBitForBit() {
        float[] x = floats("quant_input.f32");
        assertEquals(512, x.length);
        for (QuantFormat f : new QuantFormat[] {QuantFormat.Q8_0, QuantFormat.Q4_0, QuantFormat.F16, QuantFormat.BF16}) {
            byte[] expected = resource("ref." + f.name().toLowerCase());
            byte[] actual = quantize(f, x, x.length);
            for (int i = 0; i < expected.length; i++) {
                if (expected[i] != actual[i]) {
                    throw new AssertionError(f + ": byte " + i + " (block " + i / f.blockBytes() + ") is "
                            + actual[i] + ", ggml wrote " + expected[i]);
                }
            }
        }
    }

    @Test
    void decodersMatchGgml() {
        for (QuantFormat f : new QuantFormat[] {QuantFormat.Q8_0, QuantFormat.Q4_0}) {
            String suffix = f.name().toLowerCase();
            byte[] blocks = resource("ref." + suffix);
            float[] expected = floats("deq." + suffix);
            float[] actual = new float[expected.length];
            Quantization.dequantizeRow(f, MemorySegment.ofArray(blocks), 0, actual, 0, actual.length);
            assertArrayEquals(expected, actual, 0f, f.name());
        }
    }

    @Test
    void readsTheFileGgmlWrote() {
        try (GgufFile g = GgufFile.parse(resource("ggml_written.gguf"), "ggml_written.gguf")) {
            assertEquals(3, g.version());
            assertEquals("llama", g.string("general.architecture"));
            assertEquals("moe4j golden ✓", g.string("general.name"));
            assertEquals(200, g.integer("t.u8"));
            assertEquals(-100, g.integer("t.i8"));
            assertEquals(60000, g.integer("t.u16"));
            assertEquals(-30000, g.integer("t.i16"));
            assertEquals(4000000000L, g.integer("t.u32"));
            assertEquals(-2000000000, g.integer("t.i32"));
            assertEquals(0.1f, (Float) g.value("t.f32").value());
            assertEquals(-1L, g.integer("t.u64"));
            assertEquals(Math.pow(2, 64) - 1, g.value("t.u64").asDouble());
            assertEquals(-(1L << 62), g.integer("t.i64"));
            assertEquals(1e-300, g.value("t.f64").asDouble());
            assertTrue(g.value("t.bool").asBool());
            assertArrayEquals(new long[] {1, -2, 3, -4}, g.value("t.arr_i32").asArray().longs());
            assertArrayEquals(new float[] {0.5f, -1.25f, 1e30f}, g.value("t.arr_f32").asArray().floats());
            assertArrayEquals(new boolean[] {true, false, true}, (boolean[]) g.value("t.arr_bool").asArray().values());
            assertArrayEquals(new String[] {"<s>", "", "héllo", "▁world"}, g.value("t.arr_str").asArray().strings());
            assertEquals(0, g.value("t.arr_empty").asArray().length());

            float[] x = floats("quant_input.f32");
            for (GgufTensorInfo t : g.tensors()) {
                QuantizedTensor q = g.quantized(t.name());
                int n = q.rows() * q.cols();
                float[] expected = new float[n];
                byte[] bytes = quantize(q.format(), x, n);
                Quantization.dequantizeRow(q.format(), MemorySegment.ofArray(bytes), 0, expected, 0, n);
                Tensor actual = g.tensor(t.name());
                assertArrayEquals(new int[] {q.rows(), q.cols()}, actual.shape(), t.name());
                assertArrayEquals(expected, actual.toFloatArray(), 0f, t.name());
            }
        }
    }

    @Test
    void writerRebuildsGgmlsFileByteForByte() {
        byte[] expected = resource("ggml_written.gguf");
        GgufWriter w = new GgufWriter();
        try (GgufFile g = GgufFile.parse(expected, "ggml_written.gguf")) {
            g.metadata().forEach(w::put);
            float[] x = floats("quant_input.f32");
            for (GgufTensorInfo t : g.tensors()) {
                long[] shape = t.shape();
                int rows = (int) shape[0];
                int cols = (int) shape[1];
                float[] values = java.util.Arrays.copyOf(x, rows * cols);
                w.add(t.name(), Tensor.of(values, rows, cols), t.type().format());
            }
        }
        byte[] actual = w.toBytes();
        assertEquals(expected.length, actual.length, "file size");
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) throw new AssertionError("first difference at byte " + i);
        }
    }
}
