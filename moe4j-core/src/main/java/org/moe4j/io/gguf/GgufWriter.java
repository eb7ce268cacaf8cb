package org.moe4j.io.gguf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Tensor;

/**
 * Builds a GGUF v3 file: metadata in insertion order, then tensor entries, then the data, each tensor padded to the
 * alignment, in the same layout ggml's own writer produces. {@link #write} goes through a temporary file renamed
 * into place, so a crash never leaves a half-written file under the final name.
 */
public final class GgufWriter {
    /** ggml's GGML_MAX_NAME is 64 bytes with the terminating zero. */
    public static final int MAX_TENSOR_NAME_BYTES = 63;

    private record Entry(String name, GgmlType type, long[] dims, MemorySegment bytes) {}

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final Map<String, Entry> tensors = new LinkedHashMap<>();

    /** Sets metadata {@code key} (replacing an earlier value, keeping its position). */
    public GgufWriter put(String key, GgufValue value) {
        if (key.equals(GgufParser.ALIGNMENT_KEY)) {
            long a = value.type() == GgufValueType.UINT32 ? value.asLong() : 0;
            if (a == 0 || (a & (a - 1)) != 0) {
                throw new Moe4jException("gguf writer: " + key + " must be a UINT32 power of two, got " + value);
            }
        }
        metadata.put(key, value);
        return this;
    }

    /** Adds a matrix {@code [rows, cols]}, written with ggml dims {@code [cols, rows]}. */
    public GgufWriter add(String name, QuantizedTensor t) {
        return add(name, t, t.rows(), t.cols());
    }

    /** Adds a quantized tensor under an outer-first {@code shape} whose last entry is its row length. */
    public GgufWriter add(String name, QuantizedTensor t, long... shape) {
        long numel = 1;
        for (long d : shape) numel = Math.multiplyExact(numel, d);
        if (shape.length == 0 || shape[shape.length - 1] != t.cols() || numel != (long) t.rows() * t.cols()) {
            throw new Moe4jException("gguf writer: tensor '" + name + "' shape " + Arrays.toString(shape)
                    + " does not match " + t);
        }
        return raw(name, GgmlType.of(t.format()), shape, t.data());
    }

    /** Quantizes a float tensor (any rank; the last dimension is the row length) and adds it. */
    public GgufWriter add(String name, Tensor t, QuantFormat format) {
        int[] shape = t.shape();
        int cols = shape.length == 0 ? 1 : shape[shape.length - 1];
        int rows = cols == 0 ? 0 : (int) (Arrays.stream(shape).asLongStream().reduce(1, Math::multiplyExact) / cols);
        QuantizedTensor q = QuantizedTensor.quantize(t.contiguous().reshape(rows, cols), format);
        return add(name, q, Arrays.stream(shape).asLongStream().toArray());
    }

    /** Adds raw bytes of any ggml type under an outer-first {@code shape}; the size must match exactly. */
    public GgufWriter raw(String name, GgmlType type, long[] shape, MemorySegment bytes) {
        if (tensors.containsKey(name)) throw new Moe4jException("gguf writer: duplicate tensor name '" + name + "'");
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_TENSOR_NAME_BYTES) {
            throw new Moe4jException("gguf writer: tensor name '" + name + "' is longer than llama.cpp's "
                    + MAX_TENSOR_NAME_BYTES + " bytes");
        }
        if (shape.length > GgufParser.MAX_DIMS) {
            throw new Moe4jException("gguf writer: tensor '" + name + "' has " + shape.length + " dimensions, more than "
                    + GgufParser.MAX_DIMS);
        }
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] <= 0) throw new Moe4jException("gguf writer: tensor '" + name + "' has a dimension " + shape[i]);
            dims[i] = shape[shape.length - 1 - i];
        }
        long row = dims.length == 0 ? 1 : dims[0];
        long expected = row % type.blockSize() != 0 ? -1 : Math.multiplyExact(row / type.blockSize(), (long) type.blockBytes());
        for (int i = 1; i < dims.length && expected >= 0; i++) expected = Math.multiplyExact(expected, dims[i]);
        if (expected != bytes.byteSize()) {
            throw new Moe4jException("gguf writer: tensor '" + name + "' " + type + " " + Arrays.toString(shape)
                    + " needs " + expected + " bytes, got " + bytes.byteSize());
        }
        tensors.put(name, new Entry(name, type, dims, bytes));
        return this;
    }

    private long alignment() {
        GgufValue v = metadata.get(GgufParser.ALIGNMENT_KEY);
        return v == null ? GgufParser.DEFAULT_ALIGNMENT : v.asLong();
    }

    private static long pad(long n, long alignment) {
        return Math.addExact(n, (alignment - n % alignment) % alignment);
    }

    /** The header: everything before the data section, padding included. */
    private byte[] header() {
        long alignment = alignment();
        Out out = new Out();
        out.u32(GgufParser.MAGIC);
        out.u32(3);
        out.u64(tensors.size());
        out.u64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.u32(e.getValue().type().id());
            value(out, e.getValue().type(), e.getValue().value());
        }
        long offset = 0;
        for (Entry t : tensors.values()) {
            out.string(t.name);
            out.u32(t.dims.length);
            for (long d : t.dims) out.u64(d);
            out.u32(t.type.id());
            out.u64(offset);
            offset = pad(Math.addExact(offset, t.bytes.byteSize()), alignment);
        }
        while (out.size() % alignment != 0) out.u8(0);
        return out.toArray();
    }

    private static void value(Out out, GgufValueType type, Object v) {
        switch (type) {
            case UINT8, INT8, BOOL -> out.u8(v instanceof Boolean b ? (b ? 1 : 0) : (int) (long) (Long) v);
            case UINT16, INT16 -> out.u16((int) (long) (Long) v);
            case UINT32, INT32 -> out.u32((int) (long) (Long) v);
            case UINT64, INT64 -> out.u64((Long) v);
            case FLOAT32 -> out.u32(Float.floatToRawIntBits((Float) v));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) v));
            case STRING -> out.string((String) v);
            case ARRAY -> {
                GgufArray a = (GgufArray) v;
                out.u32(a.elementType().id());
                out.u64(a.length());
                for (int i = 0; i < a.length(); i++) value(out, a.elementType(), element(a, i));
            }
        }
    }

    private static Object element(GgufArray a, int i) {
        return switch (a.values()) {
            case long[] x -> x[i];
            case float[] x -> x[i];
            case double[] x -> x[i];
            case boolean[] x -> x[i];
            case Object[] x -> x[i];
            default -> throw new IllegalStateException();
        };
    }

    /** The whole file in memory (for tests and small files: under 2 GB). */
    public byte[] toBytes() {
        long alignment = alignment();
        byte[] header = header();
        long total = header.length;
        for (Entry t : tensors.values()) total = pad(Math.addExact(total, t.bytes.byteSize()), alignment);
        byte[] out = new byte[Math.toIntExact(total)];
        System.arraycopy(header, 0, out, 0, header.length);
        long at = header.length;
        for (Entry t : tensors.values()) {
            MemorySegment.copy(t.bytes, 0, MemorySegment.ofArray(out), at, t.bytes.byteSize());
            at = pad(at + t.bytes.byteSize(), alignment);
        }
        return out;
    }

    /** Writes the file through {@code file + ".tmp"}, forced to disk, then renamed over {@code file}. */
    public void write(Path file) {
        long alignment = alignment();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, ByteBuffer.wrap(header()));
                for (Entry t : tensors.values()) {
                    long size = t.bytes.byteSize();
                    for (long from = 0; from < size; from += 1 << 30) {
                        writeFully(ch, t.bytes.asSlice(from, Math.min(1L << 30, size - from)).asByteBuffer());
                    }
                    writeFully(ch, ByteBuffer.allocate((int) ((alignment - size % alignment) % alignment)));
                }
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original error is the one to report
            }
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** Little-endian bytes into a growable array. */
    private static final class Out {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 12).order(ByteOrder.LITTLE_ENDIAN);

        private void room(int n) {
            if (buf.remaining() < n) {
                int cap = Math.max(buf.capacity() * 2, buf.position() + n);
                ByteBuffer bigger = ByteBuffer.allocate(cap).order(ByteOrder.LITTLE_ENDIAN);
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
        }

        void u8(int v) {
            room(1);
            buf.put((byte) v);
        }

        void u16(int v) {
            room(2);
            buf.putShort((short) v);
        }

        void u32(int v) {
            room(4);
            buf.putInt(v);
        }

        void u64(long v) {
            room(8);
            buf.putLong(v);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            room(b.length);
            buf.put(b);
        }

        int size() {
            return buf.position();
        }

        byte[] toArray() {
            return Arrays.copyOf(buf.array(), buf.position());
        }
    }

    /** Names of the tensors added so far, in order. */
    public List<String> tensorNames() {
        return new ArrayList<>(tensors.keySet());
    }
}
