package org.moe4j.io.gguf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.MappedFile;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Tensor;

/**
 * An open GGUF file (v2/v3) whose header has been checked (see {@link GgufParser}). The file is memory-mapped, so
 * files over 2 GB work and weights are used in place: {@link #quantized} gives a tensor that reads the mapping.
 * Close it to unmap; tensors from {@link #tensor} (heap copies) stay valid, quantized views do not.
 */
public final class GgufFile implements AutoCloseable {
    private final String source;
    private final Arena arena; // owns the mapping; null for bytes already in memory
    private final GgufParser.Parsed header;
    private final MemorySegment data; // the data section only
    private boolean closed;

    private GgufFile(String source, Arena arena, MemorySegment whole) {
        this.source = source;
        this.arena = arena;
        this.header = GgufParser.parse(whole, source);
        this.data = whole.asSlice(header.dataStart(), header.dataSize());
    }

    /** Maps and checks {@code file}; a malformed file raises {@link GgufFormatException}. */
    public static GgufFile open(Path file) {
        return MappedFile.open(file, (arena, whole) -> new GgufFile(file.toString(), arena, whole));
    }

    /** Checks GGUF bytes held in memory; {@code source} names them in error messages. */
    public static GgufFile parse(byte[] bytes, String source) {
        return new GgufFile(source, null, MemorySegment.ofArray(bytes));
    }

    public String source() {
        return source;
    }

    public int version() {
        return header.version();
    }

    /** The data alignment ({@code general.alignment}, 32 by default). */
    public long alignment() {
        return header.alignment();
    }

    /** All metadata in file order. */
    public Map<String, GgufValue> metadata() {
        return header.metadata();
    }

    /** The value of {@code key}, or null. */
    public GgufValue value(String key) {
        return header.metadata().get(key);
    }

    /** The string at {@code key}; a missing key or another type is a {@link GgufFormatException}. */
    public String string(String key) {
        return required(key, GgufValueType.STRING).asString();
    }

    /** The integer at {@code key} (any integer type). */
    public long integer(String key) {
        GgufValue v = required(key, null);
        if (!v.type().isInteger()) throw new GgufFormatException(source, "metadata '" + key + "'", "is a " + v.type() + ", not an integer");
        return v.asLong();
    }

    private GgufValue required(String key, GgufValueType type) {
        GgufValue v = value(key);
        if (v == null) throw new GgufFormatException(source, "metadata '" + key + "'", "is missing");
        if (type != null && v.type() != type) {
            throw new GgufFormatException(source, "metadata '" + key + "'", "is a " + v.type() + ", not a " + type);
        }
        return v;
    }

    /** Tensor entries in file order. */
    public List<GgufTensorInfo> tensors() {
        return new ArrayList<>(header.tensors().values());
    }

    public boolean contains(String name) {
        return header.tensors().containsKey(name);
    }

    public GgufTensorInfo info(String name) {
        GgufTensorInfo t = header.tensors().get(name);
        if (t == null) throw new Moe4jException(source + ": no tensor named '" + name + "'");
        return t;
    }

    /** The tensor's raw bytes, without a copy (valid until {@link #close}). */
    public MemorySegment segment(String name) {
        if (closed) throw new Moe4jException(source + ": GGUF file is closed");
        GgufTensorInfo t = info(name);
        return data.asSlice(t.offset(), t.byteSize());
    }

    /**
     * The tensor as a quantized matrix over the mapping: {@code [rows, cols]} with cols the row length
     * ({@code dims[0]}) and rows every outer dimension multiplied (a stacked expert tensor becomes experts × rows).
     */
    public QuantizedTensor quantized(String name) {
        GgufTensorInfo t = info(name);
        QuantFormat format = t.type().format();
        if (format == null) {
            throw new GgufFormatException(source, "tensor '" + name + "' type", t.type()
                    + " is not read by moe4j; it reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and Q2_K to Q6_K");
        }
        long cols = t.rowLength();
        long rows = t.numel() / cols;
        if (cols > Integer.MAX_VALUE || rows > Integer.MAX_VALUE) {
            throw new GgufFormatException(source, "tensor '" + name + "' dims", Arrays.toString(t.dims())
                    + " has more than 2^31-1 rows or columns");
        }
        return new QuantizedTensor(format, (int) rows, (int) cols, segment(name));
    }

    /** The tensor dequantized to a heap float32 tensor with its shape outermost first. */
    public Tensor tensor(String name) {
        GgufTensorInfo t = info(name);
        if (t.numel() > Integer.MAX_VALUE - 8) {
            throw new GgufFormatException(source, "tensor '" + name + "' dims", Arrays.toString(t.dims())
                    + " has more than 2^31 values, too many for a heap tensor");
        }
        long[] shape = t.shape();
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) s[i] = (int) shape[i]; // each <= numel
        return quantized(name).dequantize().reshape(s);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (arena != null) arena.close();
        }
    }
}
