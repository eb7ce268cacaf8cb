package org.moe4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.tensor.Tensor;

/** One crafted file per known way a safetensors file can lie; each must give one clear FileFormatException. */
class SafetensorsBadFileTest {
    @TempDir
    Path dir;

    /** An 8-byte length, the header as given, then {@code dataBytes} zero bytes. */
    private static byte[] file(long headerLength, String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(headerLength).put(h).array();
    }

    private static byte[] file(String header, int dataBytes) {
        return file(header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private static String entry(String name, String dtype, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    /** Writes the bytes to a file, opens it, and returns the error; the message must name the file and field. */
    private FileFormatException rejects(byte[] bytes, String field, String problem) throws IOException {
        Path f = dir.resolve("bad.safetensors");
        Files.write(f, bytes);
        FileFormatException e = assertThrows(FileFormatException.class, () -> {
            try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                sf.readAll();
            }
        });
        assertEquals(f.toString(), e.file());
        assertTrue(e.field().contains(field), "field '" + e.field() + "' should mention '" + field + "'");
        assertTrue(e.problem().contains(problem), "problem '" + e.problem() + "' should mention '" + problem + "'");
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        return e;
    }

    @Test
    void emptyAndTinyFiles() throws IOException {
        rejects(new byte[0], "header length", "fewer than the 8");
        rejects(new byte[] {1, 0, 0, 0, 0}, "header length", "fewer than the 8");
    }

    @Test
    void hugeHeaderLengths() throws IOException {
        rejects(file(-1L, "{}", 0), "header length", "18446744073709551615 bytes exceeds the limit");
        rejects(file(200_000_000L, "{}", 0), "header length", "exceeds the limit of 100000000");
    }

    @Test
    void headerPastTheEndOfTheFile() throws IOException {
        rejects(file(1000, "{}", 0), "header length", "runs past the end of the file");
    }

    @Test
    void invalidJson() throws IOException {
        rejects(file("{\"a\":", 0), "header JSON", "");
        rejects(file("{} {}", 0), "header JSON", "");
        byte[] badUtf8 = file("{\"a\u00e9\":{}}", 0);
        badUtf8[11] = (byte) 0xff; // inside the name, where a UTF-8 continuation byte belongs
        rejects(badUtf8, "header JSON", "");
        rejects(file("[1,2]", 0), "header JSON", "not a JSON object");
        rejects(file("   ", 0), "header JSON", "not a JSON object");
        rejects(file("[".repeat(10_000) + "]".repeat(10_000), 0), "header JSON", "nesting depth");
    }

    @Test
    void duplicateTensorNames() throws IOException {
        String h = "{" + entry("w", "F32", "[1]", "[0,4]") + "," + entry("w", "F32", "[1]", "[4,8]") + "}";
        rejects(file(h, 8), "header JSON", "Duplicate field 'w'");
    }

    @Test
    void offsetsPastTheEnd() throws IOException {
        rejects(file("{" + entry("w", "F32", "[4]", "[0,16]") + "}", 8), "tensor 'w' data_offsets", "past the end of the data");
    }

    @Test
    void truncatedData() throws IOException {
        Path good = dir.resolve("good.safetensors");
        Safetensors.write(good, Map.of("a", Tensor.zeros(3), "b", Tensor.zeros(2, 2)), Map.of());
        byte[] bytes = Files.readAllBytes(good);
        rejects(Arrays.copyOf(bytes, bytes.length - 3), "data_offsets", "past the end of the data");
    }

    @Test
    void overlappingTensors() throws IOException {
        String h = "{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}";
        rejects(file(h, 12), "tensor 'b' data_offsets", "overlaps tensor 'a'");
        String inside = "{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("z", "F32", "[0]", "[4,4]") + "}";
        rejects(file(inside, 8), "tensor 'z' data_offsets", "overlaps tensor 'a'");
    }

    @Test
    void gapsAndTrailingBytes() throws IOException {
        String h = "{" + entry("a", "F32", "[1]", "[0,4]") + "," + entry("b", "F32", "[1]", "[8,12]") + "}";
        rejects(file(h, 12), "tensor 'b' data_offsets", "gap of 4");
        rejects(file("{" + entry("a", "F32", "[1]", "[0,4]") + "}", 9), "data", "5 bytes after the last tensor");
    }

    @Test
    void negativeFractionalAndOverflowingDimensions() throws IOException {
        rejects(file("{" + entry("w", "F32", "[-1]", "[0,4]") + "}", 4), "tensor 'w' shape", "entry 0 (-1)");
        rejects(file("{" + entry("w", "F32", "[2.5]", "[0,4]") + "}", 4), "tensor 'w' shape", "not a non-negative");
        rejects(file("{" + entry("w", "F32", "[99999999999999999999999]", "[0,4]") + "}", 4), "tensor 'w' shape", "64-bit");
        rejects(file("{" + entry("w", "F32", "[4294967296,4294967296]", "[0,4]") + "}", 4), "tensor 'w' shape", "overflows");
        // 2^62 elements fit a long, but not times 4 bytes
        rejects(file("{" + entry("w", "F32", "[4611686018427387904]", "[0,4]") + "}", 4), "tensor 'w' shape", "overflows");
        rejects(file("{" + entry("w", "F32", "\"4\"", "[0,4]") + "}", 4), "tensor 'w' shape", "not a JSON array");
    }

    @Test
    void sizeDoesNotMatchDtypeTimesShape() throws IOException {
        rejects(file("{" + entry("w", "F32", "[3]", "[0,8]") + "}", 8), "tensor 'w' data_offsets", "needs 12");
        rejects(file("{" + entry("w", "BF16", "[2,2]", "[0,16]") + "}", 16), "tensor 'w' data_offsets", "needs 8");
    }

    @Test
    void unknownDtypeIsNamed() throws IOException {
        rejects(file("{" + entry("w", "F12", "[1]", "[0,4]") + "}", 4), "tensor 'w' dtype", "unknown dtype 'F12'");
        rejects(file("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w' dtype", "not a string");
    }

    @Test
    void knownButUnreadableDtypeIsNamedWhenRead() throws IOException {
        rejects(file("{" + entry("ids", "I64", "[2]", "[0,16]") + "}", 16), "tensor 'ids' dtype", "I64 does not convert");
    }

    @Test
    void entriesThatAreNotObjectsOrLackFields() throws IOException {
        rejects(file("{\"w\":5}", 0), "tensor 'w'", "not a JSON object");
        rejects(file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "missing 'dtype'");
        rejects(file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "missing 'shape'");
        rejects(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "tensor 'w'", "missing 'data_offsets'");
        rejects(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4), "tensor 'w'",
                "unexpected field 'x'");
    }

    @Test
    void badDataOffsets() throws IOException {
        rejects(file("{" + entry("w", "F32", "[0]", "[8,4]") + "}", 8), "tensor 'w' data_offsets", "begin 8 is after end 4");
        rejects(file("{" + entry("w", "F32", "[1]", "[0,4,8]") + "}", 8), "tensor 'w' data_offsets", "3 entries, not 2");
        rejects(file("{" + entry("w", "F32", "[1]", "[-4,0]") + "}", 8), "tensor 'w' data_offsets", "entry 0 (-4)");
    }

    @Test
    void metadataMustBeStrings() throws IOException {
        rejects(file("{\"__metadata__\":{\"epoch\":3}}", 0), "__metadata__ 'epoch'", "not a string");
        rejects(file("{\"__metadata__\":[\"a\"]}", 0), "__metadata__", "not a JSON object of strings");
    }

    @Test
    void aValidHandMadeFileStillParses() {
        byte[] ok = file("{\"__metadata__\":{\"a\":\"b\"}," + entry("w", "F32", "[1]", "[0,4]") + "," + entry("e", "F32", "[0,3]", "[4,4]") + "}  ", 4);
        try (SafetensorsFile f = SafetensorsFile.parse(ok, "ok")) {
            assertEquals(2, f.names().size());
            assertEquals(0f, f.tensor("w").get(0));
            assertEquals(0, f.tensor("e").numel());
        }
    }
}
