package org.moe4j.io.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and checks a GGUF header (v2 or v3, little-endian) against the bytes that follow it. The file is
 * untrusted: every count, length, offset and shape is checked with exact arithmetic before it is used, counts and
 * lengths are bounded by the bytes left (so no allocation exceeds the file), and the tensors must lie aligned,
 * inside the data section and without overlap.
 */
final class GgufParser {
    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    static final int MAX_DIMS = 4; // ggml's GGML_MAX_DIMS
    static final int MAX_ARRAY_DEPTH = 8; // arrays of arrays nest at most this deep
    static final long DEFAULT_ALIGNMENT = 32;
    static final String ALIGNMENT_KEY = "general.alignment";
    private static final int MIN_KV_BYTES = 8 + 4 + 1; // key length, value type, one byte of value
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8; // name length, n_dims, type, offset
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The checked header: metadata and tensors in file order, and the data section's place in the file. */
    record Parsed(int version, long alignment, Map<String, GgufValue> metadata, Map<String, GgufTensorInfo> tensors,
            long dataStart, long dataSize) {}

    private final String file;
    private final MemorySegment bytes;
    private final long size;
    private long pos;

    private GgufParser(String file, MemorySegment bytes) {
        this.file = file;
        this.bytes = bytes;
        this.size = bytes.byteSize();
    }

    static Parsed parse(MemorySegment bytes, String file) {
        return new GgufParser(file, bytes).parse();
    }

    private GgufFormatException bad(String field, String problem) {
        return new GgufFormatException(file, field, problem);
    }

    private Parsed parse() {
        if (size < 4) throw bad("magic", "the file has " + size + " bytes, fewer than the 4 of the magic 'GGUF'");
        int magic = u32("magic");
        if (magic != MAGIC) {
            throw bad("magic", String.format("expected 'GGUF' (47 47 55 46), found %08x: not a GGUF file",
                    Integer.reverseBytes(magic)));
        }
        int version = u32("version");
        if (version != 2 && version != 3) {
            String hint = Integer.reverseBytes(version) == 3 || Integer.reverseBytes(version) == 2
                    ? "; this is a big-endian GGUF, which moe4j does not read"
                    : "; moe4j reads GGUF versions 2 and 3";
            throw bad("version", "unsupported version " + Integer.toUnsignedString(version) + hint);
        }
        long tensorCount = count("tensor_count", MIN_TENSOR_INFO_BYTES);
        long kvCount = count("metadata_kv_count", MIN_KV_BYTES);

        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = string("metadata key #" + i);
            String field = "metadata '" + key + "'";
            if (metadata.containsKey(key)) throw bad(field, "duplicate key");
            GgufValueType type = valueType(field + " type");
            metadata.put(key, value(field, type, 0));
        }
        long alignment = alignment(metadata.get(ALIGNMENT_KEY));

        Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            GgufTensorInfo t = tensorInfo(i, alignment);
            if (tensors.containsKey(t.name())) throw bad("tensor '" + t.name() + "'", "duplicate tensor name");
            tensors.put(t.name(), t);
        }
        long dataStart = Math.addExact(pos, (alignment - pos % alignment) % alignment);
        if (dataStart > size) {
            if (!tensors.isEmpty()) {
                throw bad("data section", "starts at " + dataStart + ", past the end of the file (" + size
                        + " bytes): the file is truncated");
            }
            dataStart = size;
        }
        long dataSize = size - dataStart;
        checkPlacement(tensors.values(), dataSize);
        return new Parsed(version, alignment, Collections.unmodifiableMap(metadata),
                Collections.unmodifiableMap(tensors), dataStart, dataSize);
    }

    private long alignment(GgufValue v) {
        if (v == null) return DEFAULT_ALIGNMENT;
        String field = "metadata '" + ALIGNMENT_KEY + "'";
        if (v.type() != GgufValueType.UINT32) throw bad(field, "is a " + v.type() + ", not a UINT32");
        long a = v.asLong();
        if (a == 0 || (a & (a - 1)) != 0) throw bad(field, a + " is not a power of two");
        return a;
    }

    private GgufTensorInfo tensorInfo(long index, long alignment) {
        String name = string("tensor #" + index + " name");
        String where = "tensor '" + name + "'";
        long nDims = u32("" + where + " n_dims") & 0xffffffffL;
        if (nDims > MAX_DIMS) throw bad(where + " n_dims", nDims + " dimensions, more than ggml's " + MAX_DIMS);
        long[] dims = new long[(int) nDims];
        for (int d = 0; d < nDims; d++) {
            long v = u64(where + " dims");
            if (v < 0) throw bad(where + " dims", "dimension " + d + " is " + Long.toUnsignedString(v) + ", over 2^63-1");
            if (v == 0) throw bad(where + " dims", "dimension " + d + " is 0; a tensor holds at least one value");
            dims[d] = v;
        }
        long typeId = u32(where + " type") & 0xffffffffL;
        GgmlType type = GgmlType.byId(typeId);
        if (type == null) throw bad(where + " type", "unknown ggml tensor type " + typeId);
        long offset = u64(where + " offset");
        if (offset < 0) throw bad(where + " offset", Long.toUnsignedString(offset) + " is over 2^63-1");
        if (offset % alignment != 0) {
            throw bad(where + " offset", offset + " is not a multiple of the alignment " + alignment);
        }
        long rowLength = nDims == 0 ? 1 : dims[0];
        if (rowLength % type.blockSize() != 0) {
            throw bad(where + " dims", "row length " + rowLength + " is not a multiple of the " + type
                    + " block size " + type.blockSize());
        }
        long byteSize;
        try {
            byteSize = Math.multiplyExact(rowLength / type.blockSize(), (long) type.blockBytes());
            for (int d = 1; d < nDims; d++) byteSize = Math.multiplyExact(byteSize, dims[d]);
            long numel = 1;
            for (long d : dims) numel = Math.multiplyExact(numel, d);
        } catch (ArithmeticException e) {
            throw bad(where + " dims", Arrays.toString(dims) + " overflows a 64-bit size");
        }
        return new GgufTensorInfo(name, type, dims, offset, byteSize);
    }

    /** Tensors must end inside the data section and, sorted by offset, not overlap. */
    private void checkPlacement(java.util.Collection<GgufTensorInfo> tensors, long dataSize) {
        for (GgufTensorInfo t : tensors) {
            long end;
            try {
                end = Math.addExact(t.offset(), t.byteSize());
            } catch (ArithmeticException e) {
                throw bad("tensor '" + t.name() + "' offset", t.offset() + " + " + t.byteSize() + " overflows");
            }
            if (end > dataSize) {
                throw bad("tensor '" + t.name() + "' offset", "[" + t.offset() + ", " + end + ") runs past the end of "
                        + "the data section (" + dataSize + " bytes): the file is truncated or the offset is wrong");
            }
        }
        List<GgufTensorInfo> sorted = new ArrayList<>(tensors);
        sorted.sort(Comparator.comparingLong(GgufTensorInfo::offset));
        for (int i = 1; i < sorted.size(); i++) {
            GgufTensorInfo prev = sorted.get(i - 1);
            GgufTensorInfo t = sorted.get(i);
            if (t.offset() < prev.offset() + prev.byteSize()) {
                throw bad("tensor '" + t.name() + "' offset", "[" + t.offset() + ", " + (t.offset() + t.byteSize())
                        + ") overlaps tensor '" + prev.name() + "' [" + prev.offset() + ", "
                        + (prev.offset() + prev.byteSize()) + ")");
            }
        }
    }

    private GgufValue value(String field, GgufValueType type, int depth) {
        return switch (type) {
            case UINT8 -> GgufValue.ofInteger(type, u8(field));
            case INT8 -> GgufValue.ofInteger(type, (byte) u8(field));
            case UINT16 -> GgufValue.ofInteger(type, u16(field) & 0xffffL);
            case INT16 -> GgufValue.ofInteger(type, u16(field));
            case UINT32 -> GgufValue.ofInteger(type, u32(field) & 0xffffffffL);
            case INT32 -> GgufValue.ofInteger(type, u32(field));
            case UINT64, INT64 -> GgufValue.ofInteger(type, u64(field));
            case FLOAT32 -> GgufValue.ofFloat32(Float.intBitsToFloat(u32(field)));
            case FLOAT64 -> GgufValue.ofFloat64(Double.longBitsToDouble(u64(field)));
            case BOOL -> GgufValue.ofBool(bool(field));
            case STRING -> GgufValue.ofString(string(field));
            case ARRAY -> GgufValue.ofArray(array(field, depth + 1));
        };
    }

    private GgufArray array(String field, int depth) {
        if (depth > MAX_ARRAY_DEPTH) {
            throw bad(field, "arrays nest more than " + MAX_ARRAY_DEPTH + " deep");
        }
        GgufValueType type = valueType(field + " element type");
        long n = u64(field + " length");
        long left = size - pos;
        if (n < 0 || n > Integer.MAX_VALUE - 8 || n > left / type.minBytes()) {
            throw bad(field + " length", Long.toUnsignedString(n) + " " + type + " elements cannot fit in the "
                    + left + " bytes left in the file");
        }
        int len = (int) n;
        return switch (type) {
            case FLOAT32 -> {
                float[] a = new float[len];
                MemorySegment.copy(bytes, F32, pos, a, 0, len);
                pos += 4L * len;
                yield new GgufArray(type, a);
            }
            case FLOAT64 -> {
                double[] a = new double[len];
                MemorySegment.copy(bytes, F64, pos, a, 0, len);
                pos += 8L * len;
                yield new GgufArray(type, a);
            }
            case BOOL -> {
                boolean[] a = new boolean[len];
                for (int i = 0; i < len; i++) a[i] = bool(field);
                yield new GgufArray(type, a);
            }
            case STRING -> {
                String[] a = new String[len];
                for (int i = 0; i < len; i++) a[i] = string(field + " element " + i);
                yield new GgufArray(type, a);
            }
            case ARRAY -> {
                GgufArray[] a = new GgufArray[len];
                for (int i = 0; i < len; i++) a[i] = array(field + " element " + i, depth + 1);
                yield new GgufArray(type, a);
            }
            default -> {
                long[] a = new long[len];
                for (int i = 0; i < len; i++) a[i] = value(field, type, depth).asLong();
                yield new GgufArray(type, a);
            }
        };
    }

    private GgufValueType valueType(String field) {
        long id = u32(field) & 0xffffffffL;
        GgufValueType t = GgufValueType.byId(id);
        if (t == null) throw bad(field, "unknown GGUF value type " + id);
        return t;
    }

    /** A u64 count of items of at least {@code minBytes} each, bounded by the bytes left. */
    private long count(String field, int minBytes) {
        long n = u64(field);
        long left = size - pos;
        if (n < 0 || n > left / minBytes) {
            throw bad(field, Long.toUnsignedString(n) + " entries cannot fit in the " + left
                    + " bytes left in the file");
        }
        return n;
    }

    private String string(String field) {
        long n = u64(field + " length");
        long left = size - pos;
        if (n < 0 || n > left) {
            throw bad(field + " length", Long.toUnsignedString(n) + " bytes, but only " + left + " are left in the file");
        }
        if (n > Integer.MAX_VALUE - 8) throw bad(field + " length", n + " bytes is longer than moe4j reads");
        byte[] b = bytes.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
        pos += n;
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw bad(field, "is not valid UTF-8");
        }
    }

    private void need(long n, String field) {
        if (size - pos < n) {
            throw bad(field, "needs " + n + " bytes at offset " + pos + " but the file ends at " + size
                    + ": the file is truncated");
        }
    }

    private long u8(String field) {
        need(1, field);
        return bytes.get(ValueLayout.JAVA_BYTE, pos++) & 0xffL;
    }

    private boolean bool(String field) {
        long b = u8(field);
        if (b > 1) throw bad(field, "bool byte is " + b + ", not 0 or 1");
        return b == 1;
    }

    private short u16(String field) {
        need(2, field);
        short v = bytes.get(U16, pos);
        pos += 2;
        return v;
    }

    private int u32(String field) {
        need(4, field);
        int v = bytes.get(U32, pos);
        pos += 4;
        return v;
    }

    private long u64(String field) {
        need(8, field);
        long v = bytes.get(U64, pos);
        pos += 8;
        return v;
    }
}
