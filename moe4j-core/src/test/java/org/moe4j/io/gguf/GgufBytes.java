package org.moe4j.io.gguf;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Hand-built GGUF bytes for the bad-file tests: little-endian fields written one by one, wrong on purpose. */
final class GgufBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** Magic, version 3 and the two counts. */
    static GgufBytes header(long tensors, long kvs) {
        return new GgufBytes().u32(GgufParser.MAGIC).u32(3).u64(tensors).u64(kvs);
    }

    GgufBytes u8(int v) {
        out.write(v);
        return this;
    }

    GgufBytes u32(long v) {
        for (int i = 0; i < 4; i++) out.write((int) (v >>> (8 * i)));
        return this;
    }

    GgufBytes u64(long v) {
        for (int i = 0; i < 8; i++) out.write((int) (v >>> (8 * i)));
        return this;
    }

    GgufBytes raw(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    GgufBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return u64(b.length).raw(b);
    }

    /** A metadata key with a UINT32 value. */
    GgufBytes kvU32(String key, long v) {
        return str(key).u32(GgufValueType.UINT32.id()).u32(v);
    }

    /** A tensor entry with ggml-order dims. */
    GgufBytes tensor(String name, int type, long offset, long... dims) {
        str(name).u32(dims.length);
        for (long d : dims) u64(d);
        return u32(type).u64(offset);
    }

    /** Zero bytes up to a multiple of {@code alignment}. */
    GgufBytes pad(int alignment) {
        while (out.size() % alignment != 0) out.write(0);
        return this;
    }

    GgufBytes zeros(int n) {
        for (int i = 0; i < n; i++) out.write(0);
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
