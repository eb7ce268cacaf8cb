package org.moe4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Rng;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class SafetensorsTest {
    @TempDir
    Path dir;

    private static Map<String, Tensor> sample(Rng rng) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("layers.0.weight", TestData.randn(rng, 5, 17));
        t.put("layers.0.bias", TestData.randn(rng, 17));
        t.put("scalar", Tensor.scalar(3.25f));
        t.put("empty", Tensor.zeros(0, 4));
        t.put("transposed", TestData.randn(rng, 3, 7).transpose(0, 1)); // not contiguous
        return t;
    }

    @Test
    void f32RoundTripKeepsNamesOrderShapesValuesAndMetadata() {
        Map<String, Tensor> tensors = sample(new Rng(1));
        Path file = dir.resolve("a.safetensors");
        Safetensors.write(file, tensors, Map.of("format", "pt", "note", "ünïcode"));
        try (SafetensorsFile f = Safetensors.open(file)) {
            assertEquals(List.copyOf(tensors.keySet()), f.names());
            assertEquals(Map.of("format", "pt", "note", "ünïcode"), f.metadata());
            for (var e : tensors.entrySet()) {
                Tensor back = f.tensor(e.getKey());
                assertEquals(DType.F32, back.dtype());
                assertArrayEquals(e.getValue().shape(), back.shape(), e.getKey());
                assertArrayEquals(e.getValue().toFloatArray(), back.toFloatArray(), e.getKey()); // bit for bit
                assertEquals(SafetensorsDType.F32, f.entry(e.getKey()).dtype());
            }
        }
    }

    @Test
    void f64TensorsStayF64AndExact() {
        Tensor t = TestData.randn64(new Rng(2), 3, 5);
        Path file = dir.resolve("d.safetensors");
        Safetensors.write(file, Map.of("w", t), Map.of());
        Tensor back = Safetensors.read(file).get("w");
        assertEquals(DType.F64, back.dtype());
        assertArrayEquals(t.toDoubleArray(), back.toDoubleArray());
    }

    /** The expected bytes written out by hand from the format description, not by our writer. */
    @Test
    void writerProducesTheBytesTheSpecPrescribes() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a", Tensor.of(new float[] {1.0f, -2.0f}, 2));
        tensors.put("b", Tensor.of(new float[] {0.5f}, 1, 1));
        Path file = dir.resolve("golden.safetensors");
        Safetensors.write(file, tensors, Map.of("format", "pt"));

        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[8,12]}}";
        // 141 bytes of JSON, padded with 3 spaces to 144 so that the data begins 8-byte aligned.
        ByteBuffer expected = ByteBuffer.allocate(8 + 144 + 12);
        expected.put(new byte[] {(byte) 0x90, 0, 0, 0, 0, 0, 0, 0}); // 144, little-endian u64
        expected.put(json.getBytes(StandardCharsets.US_ASCII)).put("   ".getBytes(StandardCharsets.US_ASCII));
        expected.put(new byte[] {0, 0, (byte) 0x80, 0x3f}); // 1.0f
        expected.put(new byte[] {0, 0, 0, (byte) 0xc0}); // -2.0f
        expected.put(new byte[] {0, 0, 0, 0x3f}); // 0.5f
        assertArrayEquals(expected.array(), Files.readAllBytes(file));
    }

    /** A hand-made file with F16 and BF16 data, bytes chosen from the IEEE and bfloat16 layouts. */
    @Test
    void readsHandMadeF16AndBf16Widened() {
        String json = "{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[8,16]}}";
        byte[] header = json.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer buf = ByteBuffer.allocate(8 + header.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(header.length).put(header);
        // F16: 1.0, -2.0, 65504 (largest finite), 2^-24 (smallest subnormal)
        buf.putShort((short) 0x3c00).putShort((short) 0xc000).putShort((short) 0x7bff).putShort((short) 0x0001);
        // BF16: 1.0, -2.0, 3.140625 (0x4049), -inf
        buf.putShort((short) 0x3f80).putShort((short) 0xc000).putShort((short) 0x4049).putShort((short) 0xff80);
        try (SafetensorsFile f = SafetensorsFile.parse(buf.array(), "hand-made")) {
            assertArrayEquals(new float[] {1f, -2f, 65504f, 0x1p-24f}, f.tensor("h").toFloatArray());
            Tensor b = f.tensor("b");
            assertArrayEquals(new int[] {2, 2}, b.shape());
            assertArrayEquals(new float[] {1f, -2f, 3.140625f, Float.NEGATIVE_INFINITY}, b.toFloatArray());
            assertArrayEquals(new double[] {1, -2, 65504, 0x1p-24}, f.tensor("h", DType.F64).toDoubleArray());
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3f80, HalfFloats.toBf16(Float.intBitsToFloat(0x3f808000))); // tie, even below
        assertEquals((short) 0x3f82, HalfFloats.toBf16(Float.intBitsToFloat(0x3f818000))); // tie, even above
        assertEquals((short) 0x3f81, HalfFloats.toBf16(Float.intBitsToFloat(0x3f808001))); // just above half
        assertEquals((short) 0x3f80, HalfFloats.toBf16(Float.intBitsToFloat(0x3f807fff))); // just below half
        assertEquals((short) 0x7f80, HalfFloats.toBf16(Float.MAX_VALUE)); // overflows to inf, as RNE must
        assertEquals((short) 0x8000, HalfFloats.toBf16(-0.0f));
        assertEquals((short) 0x0000, HalfFloats.toBf16(Float.MIN_VALUE));
        assertTrue(Float.isNaN(HalfFloats.fromBf16(HalfFloats.toBf16(Float.NaN))));
        assertTrue(Float.isNaN(HalfFloats.fromBf16(HalfFloats.toBf16(Float.intBitsToFloat(0x7f800001))))); // no NaN->inf
    }

    @Test
    void bf16AndF16FilesRoundTripWithinTheirPrecision() {
        Rng rng = new Rng(3);
        Tensor t = TestData.randn(rng, 33, 9);
        for (SafetensorsDType type : List.of(SafetensorsDType.BF16, SafetensorsDType.F16)) {
            Path file = dir.resolve(type + ".safetensors");
            Safetensors.write(file, Map.of("t", t), Map.of(), type);
            try (SafetensorsFile f = Safetensors.open(file)) {
                assertEquals(type, f.entry("t").dtype());
                assertEquals(2L * t.numel(), f.entry("t").byteSize());
                float[] back = f.tensor("t").toFloatArray();
                float[] src = t.toFloatArray();
                for (int i = 0; i < src.length; i++) {
                    short expected = type == SafetensorsDType.BF16 ? HalfFloats.toBf16(src[i]) : Float.floatToFloat16(src[i]);
                    float widened = type == SafetensorsDType.BF16 ? HalfFloats.fromBf16(expected) : Float.float16ToFloat(expected);
                    assertEquals(widened, back[i], type + " element " + i);
                }
                TestData.assertClose(t, f.tensor("t"), 0, type == SafetensorsDType.BF16 ? 1.0 / 256 : 1.0 / 2048);
            }
        }
    }

    /** A sparse file just over 2 GB: the mapping must reach offsets past 2^31. */
    @Test
    void tensorsPastTwoGigabytesAreReadThroughTheMapping() throws IOException {
        long padding = (1L << 31) + 16;
        String json = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + padding + "],\"data_offsets\":[0," + padding + "]},"
                + "\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[" + padding + "," + (padding + 12) + "]}}";
        byte[] header = json.getBytes(StandardCharsets.US_ASCII);
        Path file = dir.resolve("big.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            ByteBuffer head = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(header.length).put(header);
            raf.write(head.array());
            raf.seek(8 + header.length + padding); // the hole in between takes no disk space
            ByteBuffer x = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-7f).putFloat(1e30f);
            raf.write(x.array());
        }
        try (SafetensorsFile f = Safetensors.open(file)) {
            assertArrayEquals(new float[] {1.5f, -7f, 1e30f}, f.tensor("x").toFloatArray());
            assertEquals(padding, f.segment("pad").byteSize());
            FileFormatException e = assertThrows(FileFormatException.class, () -> f.tensor("pad"));
            assertTrue(e.getMessage().contains("U8 does not convert"), e.getMessage());
        }
    }

    @Test
    void rawSegmentsAreTheLittleEndianBytes() {
        Path file = dir.resolve("raw.safetensors");
        Safetensors.write(file, Map.of("w", Tensor.of(new float[] {1f}, 1)), Map.of());
        try (SafetensorsFile f = Safetensors.open(file)) {
            assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3f}, f.segment("w").toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void misuseIsRefusedWithAReason() {
        Path file = dir.resolve("m.safetensors");
        var e = assertThrows(org.moe4j.common.Moe4jException.class,
                () -> Safetensors.write(file, Map.of("__metadata__", Tensor.zeros(1)), Map.of()));
        assertTrue(e.getMessage().contains("cannot name a tensor"), e.getMessage());
        e = assertThrows(org.moe4j.common.Moe4jException.class,
                () -> Safetensors.write(file, Map.of("w", Tensor.zeros(1)), Map.of(), SafetensorsDType.I64));
        assertTrue(e.getMessage().contains("I64"), e.getMessage());
        Safetensors.write(file, Map.of("w", Tensor.zeros(1)), Map.of());
        SafetensorsFile f = Safetensors.open(file);
        assertTrue(assertThrows(org.moe4j.common.Moe4jException.class, () -> f.tensor("nope")).getMessage().contains("'nope'"));
        f.close();
        assertThrows(org.moe4j.common.Moe4jException.class, () -> f.tensor("w"));
    }
}
