package org.moe4j.io.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.tensor.DType;

/**
 * A weight file over 2 GB: a tensor lying past byte 2^31 must read correctly (the file is mapped as one
 * MemorySegment with long offsets). The file is sparse, so the test writes a few bytes, not gigabytes.
 */
class HfLargeFileTest {
    @Test
    void aTensorPastTwoGigabytesReads(@TempDir Path dir) throws IOException {
        long pad = (1L << 31) + 8;
        String json = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + pad + "],\"data_offsets\":[0," + pad + "]},"
                + "\"model.norm.weight\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[" + pad + "," + (pad + 8) + "]}}";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer tail = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : new float[] {1.5f, -2f, 0.25f, 3f}) tail.putShort((short) (Float.floatToIntBits(v) >>> 16));
        tail.flip();
        try (FileChannel ch = FileChannel.open(dir.resolve("model.safetensors"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, StandardOpenOption.SPARSE)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            ch.write(len);
            ch.write(ByteBuffer.wrap(header));
            ch.write(tail, 8 + header.length + pad);
        }
        try (HfShards shards = HfShards.open(dir)) {
            assertArrayEquals(new float[] {1.5f, -2f, 0.25f, 3f},
                    shards.file("model.norm.weight").tensor("model.norm.weight", DType.F32).toFloatArray());
        }
    }
}
