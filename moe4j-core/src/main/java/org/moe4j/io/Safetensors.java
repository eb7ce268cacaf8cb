package org.moe4j.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.FloatStorage;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * Hugging Face's safetensors format: an 8-byte little-endian header length, a JSON header mapping each tensor
 * name to its dtype, shape and byte range ({@code data_offsets}, relative to the end of the header), an optional
 * {@code __metadata__} object of strings, then the tensors' bytes, little-endian and row-major. Reading is
 * {@link SafetensorsFile}; this class writes, and reads whole files for convenience.
 */
public final class Safetensors {
    private static final int BUFFER_BYTES = 1 << 20;

    private Safetensors() {}

    /** Maps and checks a file (see {@link SafetensorsFile#open}). */
    public static SafetensorsFile open(Path file) {
        return SafetensorsFile.open(file);
    }

    /** Every tensor of the file, in header order (F16/BF16 widened to F32). */
    public static Map<String, Tensor> read(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.readAll();
        }
    }

    /** Writes the tensors in their own dtype (F32 as F32, F64 as F64), in map order, synced to disk. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        write(file, tensors, metadata, null);
    }

    /**
     * Writes every tensor as {@code dtype} (F32, F16, BF16 or F64; the 16-bit types round to nearest even), in map
     * order, and syncs the file to disk before returning. A null dtype keeps each tensor's own.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata, SafetensorsDType dtype) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            write(ch, tensors, metadata, dtype);
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Writes safetensors bytes to {@code out}, as {@link #write(Path, Map, Map, SafetensorsDType)}. */
    public static void write(WritableByteChannel out, Map<String, Tensor> tensors, Map<String, String> metadata,
            SafetensorsDType dtype) throws IOException {
        if (dtype != null && !dtype.readable()) {
            throw new Moe4jException("safetensors: cannot write tensors as " + dtype + "; use F32, F16, BF16 or F64");
        }
        ByteBuffer buf = ByteBuffer.allocate(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        byte[] header = header(tensors, metadata, dtype);
        buf.putLong(header.length);
        writeFully(out, buf);
        ByteBuffer h = ByteBuffer.wrap(header);
        while (h.hasRemaining()) out.write(h);
        for (Tensor t : tensors.values()) encode(out, buf, t, dtypeOf(t, dtype));
        writeFully(out, buf);
    }

    private static SafetensorsDType dtypeOf(Tensor t, SafetensorsDType requested) {
        if (requested != null) return requested;
        return t.dtype() == DType.F64 ? SafetensorsDType.F64 : SafetensorsDType.F32;
    }

    /** The header JSON, padded with spaces so the data starts 8-byte aligned (as the reference writer does). */
    private static byte[] header(Map<String, Tensor> tensors, Map<String, String> metadata, SafetensorsDType dtype) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafetensorsHeader.METADATA_KEY);
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals(SafetensorsHeader.METADATA_KEY)) {
                throw new Moe4jException("safetensors: '" + SafetensorsHeader.METADATA_KEY + "' cannot name a tensor");
            }
            Tensor t = e.getValue();
            SafetensorsDType type = dtypeOf(t, dtype);
            ObjectNode entry = root.putObject(e.getKey());
            entry.put("dtype", type.name());
            ArrayNode shape = entry.putArray("shape");
            for (int d : t.shape()) shape.add(d);
            long end = offset + (long) t.numel() * type.bytes();
            entry.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a JSON tree of plain values", e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) out[i] = ' ';
        return out;
    }

    private static void encode(WritableByteChannel out, ByteBuffer buf, Tensor t, SafetensorsDType type) throws IOException {
        int n = t.numel();
        if (type == SafetensorsDType.F32 && t.storage() instanceof FloatStorage fs && t.isContiguous()) {
            float[] a = fs.array();
            for (int i = 0; i < n; ) {
                if (buf.remaining() < 4) writeFully(out, buf);
                int len = Math.min(n - i, buf.remaining() / 4);
                buf.asFloatBuffer().put(a, t.offset() + i, len);
                buf.position(buf.position() + 4 * len);
                i += len;
            }
            return;
        }
        Storage s = t.storage();
        boolean contiguous = t.isContiguous();
        for (int i = 0; i < n; i++) {
            if (buf.remaining() < 8) writeFully(out, buf);
            double v = s.get(contiguous ? t.offset() + i : t.storageIndex(i));
            switch (type) {
                case F32 -> buf.putFloat((float) v);
                case F64 -> buf.putDouble(v);
                case F16 -> buf.putShort(HalfFloats.toF16((float) v));
                case BF16 -> buf.putShort(HalfFloats.toBf16((float) v));
                default -> throw new IllegalStateException("unwritable dtype " + type); // rejected in write()
            }
        }
    }

    /** Writes the buffer's contents and empties it for refilling. */
    private static void writeFully(WritableByteChannel out, ByteBuffer buf) throws IOException {
        buf.flip();
        while (buf.hasRemaining()) out.write(buf);
        buf.clear();
    }
}
