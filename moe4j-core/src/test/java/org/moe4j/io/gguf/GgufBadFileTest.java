package org.moe4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.io.FileFormatException;

/** One crafted file per known bug class: each must raise GgufFormatException naming the field that is wrong. */
class GgufBadFileTest {
    private static final int F32 = 0;
    private static final int Q8_0 = 8;

    private static void refused(byte[] bytes, String field, String problem) {
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.parse(bytes, "bad.gguf"));
        assertTrue(e instanceof FileFormatException);
        assertTrue(e.getMessage().startsWith("bad.gguf: "), e.getMessage());
        assertTrue(e.field().contains(field), "field of: " + e.getMessage());
        assertTrue(e.problem().contains(problem), "problem of: " + e.getMessage());
    }

    /** One F32 tensor of [4] at offset 0 and its 16 bytes: the valid file the others break. */
    private static GgufBytes oneTensor(String name, long offset, long... dims) {
        return GgufBytes.header(1, 0).tensor(name, F32, offset, dims).pad(32);
    }

    @Test
    void theBaseFilesAreValid() {
        try (GgufFile g = GgufFile.parse(oneTensor("w", 0, 4).zeros(16).bytes(), "ok.gguf")) {
            assertEquals(1, g.tensors().size());
        }
    }

    @Test
    void badMagic() {
        refused(new GgufBytes().raw("GGML".getBytes()).u32(3).u64(0).u64(0).bytes(), "magic", "not a GGUF file");
    }

    @Test
    void shorterThanTheMagic() {
        refused(new byte[] {'G', 'G'}, "magic", "fewer than the 4");
    }

    @Test
    void unsupportedVersion() {
        refused(new GgufBytes().u32(GgufParser.MAGIC).u32(1).u64(0).u64(0).bytes(), "version", "unsupported version 1");
    }

    @Test
    void bigEndianFile() {
        refused(new GgufBytes().u32(GgufParser.MAGIC).u32(0x03000000L).u64(0).u64(0).bytes(), "version", "big-endian");
    }

    @Test
    void hugeTensorCount() {
        refused(GgufBytes.header(1L << 62, 0).bytes(), "tensor_count", "cannot fit");
    }

    @Test
    void hugeKvCount() {
        refused(GgufBytes.header(0, -1).zeros(64).bytes(), "metadata_kv_count", "18446744073709551615");
    }

    @Test
    void hugeKeyLength() {
        refused(GgufBytes.header(0, 1).u64(Long.MAX_VALUE).zeros(13).bytes(), "metadata key #0 length", "only");
    }

    @Test
    void hugeStringValueLength() {
        refused(GgufBytes.header(0, 1).str("k").u32(GgufValueType.STRING.id()).u64(1L << 40).zeros(8).bytes(),
                "metadata 'k' length", "only");
    }

    @Test
    void unknownValueType() {
        refused(GgufBytes.header(0, 1).str("k").u32(13).u32(0).bytes(), "metadata 'k' type", "unknown GGUF value type 13");
    }

    @Test
    void arrayOfHugeLength() {
        refused(GgufBytes.header(0, 1).str("a").u32(GgufValueType.ARRAY.id()).u32(GgufValueType.UINT32.id())
                .u64(1L << 33).zeros(16).bytes(), "metadata 'a' length", "cannot fit");
    }

    @Test
    void nestedArraysTooDeep() {
        GgufBytes b = GgufBytes.header(0, 1).str("a").u32(GgufValueType.ARRAY.id());
        for (int i = 0; i < 20; i++) b.u32(GgufValueType.ARRAY.id()).u64(1);
        refused(b.u32(GgufValueType.UINT8.id()).u64(0).bytes(), "metadata 'a'", "nest more than");
    }

    @Test
    void nestedArrayLengthLiesAboutItsElements() {
        // an array of 2^20 arrays, each at least 12 bytes: cannot fit the few bytes left
        refused(GgufBytes.header(0, 1).str("a").u32(GgufValueType.ARRAY.id()).u32(GgufValueType.ARRAY.id())
                .u64(1 << 20).zeros(100).bytes(), "metadata 'a' length", "cannot fit");
    }

    @Test
    void duplicateKey() {
        refused(GgufBytes.header(0, 2).kvU32("k", 1).kvU32("k", 2).bytes(), "metadata 'k'", "duplicate key");
    }

    @Test
    void invalidUtf8Key() {
        refused(GgufBytes.header(0, 1).u64(2).raw(new byte[] {(byte) 0xc3, 0x28}).u32(4).u32(0).bytes(),
                "metadata key #0", "UTF-8");
    }

    @Test
    void boolThatIsNotZeroOrOne() {
        refused(GgufBytes.header(0, 1).str("b").u32(GgufValueType.BOOL.id()).u8(2).bytes(), "metadata 'b'", "not 0 or 1");
    }

    @Test
    void alignmentOfTheWrongType() {
        refused(GgufBytes.header(0, 1).str("general.alignment").u32(GgufValueType.UINT64.id()).u64(32).bytes(),
                "general.alignment", "not a UINT32");
    }

    @Test
    void alignmentNotAPowerOfTwo() {
        refused(GgufBytes.header(0, 1).kvU32("general.alignment", 48).bytes(), "general.alignment", "power of two");
    }

    @Test
    void tooManyDimensions() {
        refused(oneTensor("w", 0, 1, 1, 1, 1, 4).zeros(16).bytes(), "tensor 'w' n_dims", "more than ggml's 4");
    }

    @Test
    void negativeDimension() {
        refused(oneTensor("w", 0, 4, -2).zeros(16).bytes(), "tensor 'w' dims", "over 2^63-1");
    }

    @Test
    void overflowingDimensions() {
        refused(oneTensor("w", 0, 1L << 40, 1L << 40).zeros(16).bytes(), "tensor 'w' dims", "overflows");
    }

    @Test
    void zeroSizeDimension() {
        refused(oneTensor("w", 0, 4, 0).zeros(16).bytes(), "tensor 'w' dims", "is 0");
    }

    @Test
    void unknownTensorType() {
        refused(GgufBytes.header(1, 0).tensor("w", 99, 0, 4).pad(32).zeros(16).bytes(), "tensor 'w' type",
                "unknown ggml tensor type 99");
    }

    @Test
    void rowNotAWholeNumberOfBlocks() {
        refused(GgufBytes.header(1, 0).tensor("w", Q8_0, 0, 33).pad(32).zeros(68).bytes(), "tensor 'w' dims",
                "not a multiple of the Q8_0 block size 32");
    }

    @Test
    void kQuantRowNotAWholeNumberOfSuperBlocks() {
        // 288 values fill 32-value blocks but not Q4_K's 256-value super-blocks
        refused(GgufBytes.header(1, 0).tensor("w", 12, 0, 288, 2).pad(32).zeros(2 * 162).bytes(), "tensor 'w' dims",
                "row length 288 is not a multiple of the Q4_K block size 256");
        refused(GgufBytes.header(1, 0).tensor("w", 14, 0, 32).pad(32).zeros(210).bytes(), "tensor 'w' dims",
                "not a multiple of the Q6_K block size 256");
        refused(GgufBytes.header(1, 0).tensor("w", 3, 0, 48).pad(32).zeros(40).bytes(), "tensor 'w' dims",
                "not a multiple of the Q4_1 block size 32");
    }

    @Test
    void kQuantTensorTruncated() {
        // [2, 256] Q5_K needs 2 * 176 bytes; one super-block short
        refused(GgufBytes.header(1, 0).tensor("w", 13, 0, 256, 2).pad(32).zeros(176).bytes(), "tensor 'w' offset",
                "runs past the end");
        try (GgufFile g = GgufFile.parse(GgufBytes.header(1, 0).tensor("w", 13, 0, 256, 2).pad(32).zeros(352).bytes(),
                "ok.gguf")) {
            assertEquals(352, g.info("w").byteSize());
            assertEquals(2 * 256, g.tensor("w").numel()); // all-zero blocks decode (to zeros)
        }
    }

    @Test
    void offsetPastTheEnd() {
        refused(oneTensor("w", 64, 4).zeros(16).bytes(), "tensor 'w' offset", "runs past the end");
    }

    @Test
    void offsetThatOverflows() {
        refused(oneTensor("w", Long.MAX_VALUE - 31, 64).zeros(16).bytes(), "tensor 'w' offset", "overflows");
    }

    @Test
    void misalignedOffset() {
        refused(oneTensor("w", 4, 4).zeros(32).bytes(), "tensor 'w' offset", "not a multiple of the alignment 32");
    }

    @Test
    void overlappingTensors() {
        byte[] b = GgufBytes.header(2, 0).tensor("a", F32, 0, 16).tensor("b", F32, 32, 16).pad(32).zeros(96).bytes();
        refused(b, "tensor 'b' offset", "overlaps tensor 'a'");
    }

    @Test
    void duplicateTensorNames() {
        byte[] b = GgufBytes.header(2, 0).tensor("w", F32, 0, 4).tensor("w", F32, 32, 4).pad(32).zeros(64).bytes();
        refused(b, "tensor 'w'", "duplicate tensor name");
    }

    @Test
    void truncatedHeader() {
        byte[] whole = oneTensor("w", 0, 4, 4).zeros(64).bytes();
        refused(Arrays.copyOf(whole, 24 + 9 + 4 + 3), "tensor 'w' dims", "truncated");
    }

    @Test
    void truncatedData() {
        byte[] whole = oneTensor("w", 0, 4, 4).zeros(64).bytes();
        refused(Arrays.copyOf(whole, whole.length - 1), "tensor 'w' offset", "runs past the end");
    }

    @Test
    void dataSectionMissing() {
        byte[] b = GgufBytes.header(1, 0).tensor("w", F32, 0, 4).bytes(); // ends before the padding
        refused(b, "data section", "truncated");
    }

    @Test
    void unsupportedTypeIsNamedWhenComputed() {
        byte[] b = GgufBytes.header(1, 0).tensor("k", 23, 0, 256).pad(32).zeros(136).bytes(); // IQ4_XS: layout only
        try (GgufFile g = GgufFile.parse(b, "k.gguf")) {
            assertEquals(GgmlType.IQ4_XS, g.info("k").type());
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> g.quantized("k"));
            assertTrue(e.getMessage().contains("IQ4_XS") && e.getMessage().contains("Q2_K to Q6_K"), e.getMessage());
        }
    }
}
