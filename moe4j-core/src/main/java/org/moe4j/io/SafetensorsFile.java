package org.moe4j.io;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;

/**
 * An open safetensors file whose header has been checked against its size (see {@link SafetensorsHeader}). The
 * file is memory-mapped, so files over 2 GB work and only the tensors asked for are read; each tensor converts
 * to a heap {@link Tensor} (under 2^31 elements) or is available as its raw little-endian bytes. Close it to
 * unmap; tensors already read stay valid.
 */
public final class SafetensorsFile implements AutoCloseable {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int CHUNK = 1 << 16; // elements converted per bulk copy

    private final String source;
    private final Arena arena; // owns the mapping; null for data already in memory
    private final MemorySegment data; // the data area only
    private final SafetensorsHeader.Parsed header;
    private boolean closed;

    private SafetensorsFile(String source, Arena arena, MemorySegment whole) {
        this.source = source;
        this.arena = arena;
        this.header = SafetensorsHeader.parse(whole, source);
        this.data = whole.asSlice(header.dataStart(), header.dataSize());
    }

    /** Maps and checks {@code file}; a malformed file raises {@link FileFormatException}. */
    public static SafetensorsFile open(Path file) {
        return MappedFile.open(file, (arena, whole) -> new SafetensorsFile(file.toString(), arena, whole));
    }

    /** Checks safetensors bytes held in memory; {@code source} names them in error messages. */
    public static SafetensorsFile parse(byte[] bytes, String source) {
        return new SafetensorsFile(source, null, MemorySegment.ofArray(bytes));
    }

    /** The file, as named in error messages. */
    public String source() {
        return source;
    }

    /** The {@code __metadata__} strings (empty when absent). */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Tensor names in header order. */
    public List<String> names() {
        return new ArrayList<>(header.entries().keySet());
    }

    public Collection<SafetensorsEntry> entries() {
        return header.entries().values();
    }

    public boolean contains(String name) {
        return header.entries().containsKey(name);
    }

    /** The checked header entry of tensor {@code name}. */
    public SafetensorsEntry entry(String name) {
        SafetensorsEntry e = header.entries().get(name);
        if (e == null) throw new Moe4jException(source + ": no tensor named '" + name + "'");
        return e;
    }

    /** The tensor's raw little-endian bytes, without a copy (valid until {@link #close}). */
    public MemorySegment segment(String name) {
        checkOpen();
        SafetensorsEntry e = entry(name);
        return data.asSlice(e.begin(), e.byteSize());
    }

    /** The tensor as F32 (F64 stays F64): F16 and BF16 widen exactly. */
    public Tensor tensor(String name) {
        return tensor(name, entry(name).dtype() == SafetensorsDType.F64 ? DType.F64 : DType.F32);
    }

    /** The tensor converted to {@code dtype}. */
    public Tensor tensor(String name, DType dtype) {
        SafetensorsEntry e = entry(name);
        if (!e.dtype().readable()) {
            throw new FileFormatException(source, "tensor '" + name + "' dtype", e.dtype()
                    + " does not convert to a float tensor; moe4j reads F64, F32, F16 and BF16");
        }
        MemorySegment src = segment(name);
        int[] shape = heapShape(e);
        int n = (int) e.numel();
        if (dtype == DType.F64) {
            if (e.dtype() != SafetensorsDType.F64) return tensor(name, DType.F32).to(DType.F64);
            double[] out = new double[n];
            MemorySegment.copy(src, F64_LE, 0, out, 0, n);
            return Tensor.ofDoubles(out, shape);
        }
        float[] out = new float[n];
        switch (e.dtype()) {
            case F32 -> MemorySegment.copy(src, F32_LE, 0, out, 0, n);
            case F64 -> {
                for (int i = 0; i < n; i++) out[i] = (float) src.getAtIndex(F64_LE, i);
            }
            case F16, BF16 -> decodeHalves(src, out, e.dtype() == SafetensorsDType.BF16);
            default -> throw new IllegalStateException("unreadable dtype " + e.dtype()); // refused above
        }
        return Tensor.of(out, shape);
    }

    /** Every tensor, in header order, converted as by {@link #tensor(String)}. */
    public Map<String, Tensor> readAll() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : header.entries().keySet()) out.put(name, tensor(name));
        return out;
    }

    private static void decodeHalves(MemorySegment src, float[] out, boolean bf16) {
        short[] buf = new short[Math.min(CHUNK, out.length)];
        for (int from = 0; from < out.length; from += CHUNK) {
            int len = Math.min(CHUNK, out.length - from);
            MemorySegment.copy(src, I16_LE, 2L * from, buf, 0, len);
            for (int i = 0; i < len; i++) out[from + i] = bf16 ? HalfFloats.fromBf16(buf[i]) : HalfFloats.fromF16(buf[i]);
        }
    }

    private int[] heapShape(SafetensorsEntry e) {
        long[] shape = e.shape();
        if (e.numel() > Integer.MAX_VALUE) {
            throw new FileFormatException(source, "tensor '" + e.name() + "' shape", Arrays.toString(shape)
                    + " has more than 2^31-1 elements, too many for a heap tensor");
        }
        int[] out = new int[shape.length];
        for (int i = 0; i < shape.length; i++) out[i] = (int) shape[i]; // each <= numel, or numel is 0
        if (e.numel() == 0) {
            for (long d : shape) {
                if (d > Integer.MAX_VALUE) {
                    throw new FileFormatException(source, "tensor '" + e.name() + "' shape", Arrays.toString(shape)
                            + " has a dimension over 2^31-1");
                }
            }
        }
        return out;
    }

    private void checkOpen() {
        if (closed) throw new Moe4jException(source + ": safetensors file is closed");
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (arena != null) arena.close();
        }
    }
}
