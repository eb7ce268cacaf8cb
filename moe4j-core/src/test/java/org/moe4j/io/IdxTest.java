package org.moe4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

class IdxTest {
    @TempDir
    Path dir;

    // ---- round trips -----------------------------------------------------------------------------------------

    @Test
    void everyTypeRoundTripsPlainAndGzipped() {
        float[] ints = {0, 1, 2, 100, 127, 5, 7, 9, 3, 11, 12, 13}; // fit every integer type
        float[] reals = {0.5f, -1.25f, 3e-5f, 1e20f, -7f, 0f, 1f, 2f, 3f, 4f, 5f, 6f};
        for (Idx.Type type : Idx.Type.values()) {
            float[] v = type.isInteger() ? ints.clone() : reals.clone();
            if (type == Idx.Type.BYTE || type == Idx.Type.SHORT || type == Idx.Type.INT) v[1] = -3; // signed
            Tensor t = Tensor.of(v, 2, 3, 2);
            for (String name : new String[] {"x-" + type + ".idx", "x-" + type + ".idx.gz"}) {
                Path f = dir.resolve(name);
                Idx.write(f, t, type);
                assertEquals(new Idx.Header(type, new int[] {2, 3, 2}), Idx.readHeader(f));
                Tensor back = Idx.readFloats(f);
                assertArrayEquals(t.shape(), back.shape(), name);
                assertArrayEquals(v, back.toFloatArray(), name);
                if (type.isInteger()) {
                    IntTensor labels = Idx.readInts(f);
                    for (int i = 0; i < v.length; i++) assertEquals((int) v[i], labels.data()[i], name + " at " + i);
                }
            }
        }
    }

    @Test
    void compressionIsDetectedByMagicNotByName() throws IOException {
        Path gz = dir.resolve("images.gz");
        Idx.write(gz, IntTensor.of(1, 2, 3), Idx.Type.UBYTE);
        Path named = dir.resolve("images.raw"); // gzip content, misleading name
        Files.copy(gz, named);
        assertEquals(IntTensor.of(1, 2, 3), Idx.readInts(named));
        assertTrue(Files.size(gz) < 40 && ((Files.readAllBytes(gz)[0] & 0xFF) == 0x1f), "written gzipped");
    }

    @Test
    void unsignedBytesScaleToTheUnitIntervalExactly() {
        Path f = dir.resolve("pixels");
        Idx.write(f, IntTensor.of(0, 51, 128, 255), Idx.Type.UBYTE);
        float[] x = Idx.readFloats(f, 1.0 / 255).toFloatArray();
        assertEquals(0f, x[0]);
        assertEquals(0.2f, x[1]);
        assertEquals((float) (128 / 255.0), x[2]);
        assertEquals(1f, x[3], "255 must map to exactly 1");
    }

    @Test
    void readsFromStreamsAndLargerThanOneChunk() throws IOException {
        int n = 70_000; // spans two 64 KiB read chunks for ubyte, more for int
        int[] v = new int[n];
        for (int i = 0; i < n; i++) v[i] = (i * 7919) % 1000 - 500;
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        Idx.write(raw, IntTensor.of(v), Idx.Type.INT);
        assertEquals(IntTensor.of(v), Idx.readInts(new ByteArrayInputStream(raw.toByteArray()), "mem"));
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
            z.write(raw.toByteArray());
        }
        assertEquals(IntTensor.of(v), Idx.readInts(new ByteArrayInputStream(gz.toByteArray()), "mem.gz"));
    }

    @Test
    void writingRejectsValuesTheTypeCannotHold() {
        Moe4jException e = assertThrows(Moe4jException.class,
                () -> Idx.write(dir.resolve("a"), Tensor.of(new float[] {1.5f}, 1), Idx.Type.UBYTE));
        assertTrue(e.getMessage().contains("1.5"), e.getMessage());
        assertThrows(Moe4jException.class, () -> Idx.write(dir.resolve("b"), IntTensor.of(256), Idx.Type.UBYTE));
        assertThrows(Moe4jException.class, () -> Idx.write(dir.resolve("c"), IntTensor.of(40000), Idx.Type.SHORT));
    }

    // ---- crafted bad files -----------------------------------------------------------------------------------

    /** A header with the given magic bytes and dims, then {@code payload} bytes of data. */
    private static byte[] idx(int b0, int b1, int type, int[] dims, int payload) {
        ByteBuffer bb = ByteBuffer.allocate(4 + 4 * dims.length + payload);
        bb.put((byte) b0).put((byte) b1).put((byte) type).put((byte) dims.length);
        for (int d : dims) bb.putInt(d);
        return bb.array();
    }

    private Path file(String name, byte[] bytes) throws IOException {
        Path f = dir.resolve(name);
        Files.write(f, bytes);
        return f;
    }

    private static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(bytes);
        }
        return out.toByteArray();
    }

    /** Reads {@code f} as floats, expects a DataFormatException naming the file and field, and returns it. */
    private static DataFormatException bad(Path f, String field, String... phrases) {
        DataFormatException e = assertThrows(DataFormatException.class, () -> Idx.readFloats(f));
        String m = e.getMessage();
        assertEquals(f.toString(), e.file());
        assertEquals(field, e.field(), m);
        assertTrue(m.startsWith(f + ": " + field + ": "), m);
        assertTrue(m.contains("download it again") || m.contains("pass the"), "the message says how to fix it: " + m);
        for (String p : phrases) assertTrue(m.contains(p), "expected \"" + p + "\" in: " + m);
        return e;
    }

    @Test
    void emptyFile() throws IOException {
        bad(file("empty", new byte[0]), "magic", "empty");
    }

    @Test
    void headerCutShort() throws IOException {
        bad(file("short", new byte[] {0, 0}), "magic", "ends after 2 bytes");
        byte[] full = idx(0, 0, 0x08, new int[] {10, 28, 28}, 0);
        bad(file("dims-cut", Arrays.copyOf(full, 9)), "dims[1]", "ends after 1 of its 3 dimensions");
    }

    @Test
    void badMagic() throws IOException {
        bad(file("magic", idx(1, 2, 0x08, new int[] {1}, 1)), "magic", "bad magic 01 02 08 01");
        bad(file("page.html", "<!DOCTYPE html><html>".getBytes()), "magic", "HTML");
        bad(file("double.gz", gzip(gzip(idx(0, 0, 0x08, new int[] {1}, 1)))), "magic", "gzip inside gzip");
    }

    @Test
    void unknownTypeCode() throws IOException {
        bad(file("type", idx(0, 0, 0x0A, new int[] {4}, 4)), "magic (type)", "type code 0x0a");
    }

    @Test
    void rankZero() throws IOException {
        bad(file("rank0", idx(0, 0, 0x08, new int[0], 3)), "magic (rank)", "rank 0");
    }

    @Test
    void zeroAndHugeDims() throws IOException {
        bad(file("zero", idx(0, 0, 0x08, new int[] {5, 0}, 0)), "dims[1]", "dimension 1 is 0");
        bad(file("huge", idx(0, 0, 0x08, new int[] {-1}, 0)), "dims[0]", "4294967295", "2^31-1");
        bad(file("product", idx(0, 0, 0x08, new int[] {65536, 65536}, 0)), "dims", "[65536, 65536]", "2^31-1");
    }

    @Test
    void dimsDeclaringMoreThanTheFileHolds() throws IOException {
        // 60000 x 28 x 28 declared, 100 bytes present: rejected from the file size before allocating 188 MB.
        bad(file("truncated", idx(0, 0, 0x08, new int[] {60000, 28, 28}, 100)), "dims", "47040000 bytes", "100 bytes",
                "truncated");
        bad(file("shorts", idx(0, 0, 0x0B, new int[] {10}, 19)), "dims", "20 bytes", "19 bytes", "truncated");
        // A 40-byte gzip file cannot inflate to 188 MB.
        bad(file("claims.gz", gzip(idx(0, 0, 0x08, new int[] {60000, 28, 28}, 0))), "dims", "more than a gzip file");
    }

    @Test
    void trailingGarbage() throws IOException {
        bad(file("trailing", idx(0, 0, 0x08, new int[] {4}, 6)), "dims", "2 bytes of trailing data");
        bad(file("trailing.gz", gzip(idx(0, 0, 0x08, new int[] {4}, 6))), "data", "trailing data");
    }

    @Test
    void gzippedPayloadEndsEarly() throws IOException {
        bad(file("short.gz", gzip(idx(0, 0, 0x0C, new int[] {100}, 399))), "data", "ends after 99", "truncated");
    }

    @Test
    void gzipStreamCutOff() throws IOException {
        byte[] z = gzip(idx(0, 0, 0x08, new int[] {3000}, 3000));
        bad(file("cut.gz", Arrays.copyOf(z, z.length - 12)), "gzip stream", "ends early", "truncated");
    }

    @Test
    void corruptGzipData() throws IOException {
        byte[] payload = idx(0, 0, 0x08, new int[] {5000}, 5000);
        for (int i = 8; i < payload.length; i++) payload[i] = (byte) (i * 31 % 251);
        byte[] z = gzip(payload);
        z[z.length - 6] ^= 0x55; // the CRC / length trailer no longer matches
        bad(file("crc.gz", z), "gzip stream", "corrupt");
    }

    @Test
    void floatValuesAreNotLabels() throws IOException {
        Path f = dir.resolve("reals");
        Idx.write(f, Tensor.of(new float[] {0.5f}, 1), Idx.Type.FLOAT);
        DataFormatException e = assertThrows(DataFormatException.class, () -> Idx.readInts(f));
        assertTrue(e.getMessage().contains("FLOAT values, not integers") && e.getMessage().contains("labels file"),
                e.getMessage());
    }

    @Test
    void missingFileIsNotAFormatError() {
        Moe4jException e = assertThrows(Moe4jException.class, () -> Idx.readFloats(dir.resolve("nope.gz")));
        assertTrue(e.getMessage().endsWith("no such file"), e.getMessage());
    }
}
