package org.moe4j.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and checks a safetensors header against the bytes that follow it. The file is untrusted: every length,
 * offset and shape is checked with exact arithmetic before anything is read, and the tensors must tile the data
 * area exactly (no overlap, no gap, nothing after the last one), as the format's reference implementation demands.
 */
final class SafetensorsHeader {
    /** The reference implementation's limit; real headers are a few megabytes at most. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";
    private static final ValueLayout.OfLong U64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The checked header: entries in header order, metadata, and where the data area starts in the file. */
    record Parsed(Map<String, SafetensorsEntry> entries, Map<String, String> metadata, long dataStart, long dataSize) {}

    private final String file;

    private SafetensorsHeader(String file) {
        this.file = file;
    }

    static Parsed parse(MemorySegment bytes, String file) {
        return new SafetensorsHeader(file).parse(bytes);
    }

    private FileFormatException bad(String field, String problem) {
        return new FileFormatException(file, field, problem);
    }

    private Parsed parse(MemorySegment bytes) {
        long size = bytes.byteSize();
        if (size < 8) throw bad("header length", "the file has " + size + " bytes, fewer than the 8 of the header length");
        long headerLength = bytes.get(U64_LE, 0);
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw bad("header length", Long.toUnsignedString(headerLength) + " bytes exceeds the limit of "
                    + MAX_HEADER_BYTES);
        }
        if (headerLength > size - 8) {
            throw bad("header length", headerLength + " bytes runs past the end of the file (" + size + " bytes)");
        }
        byte[] json = bytes.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(json);
        } catch (JacksonException e) {
            throw new FileFormatException(file, "header JSON", e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new FileFormatException(file, "header JSON", e.getMessage(), e); // unreachable from a byte array
        }
        if (root == null || !root.isObject()) throw bad("header JSON", "is not a JSON object");
        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;

        Map<String, SafetensorsEntry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = metadata(field.getValue());
            } else {
                entries.put(field.getKey(), entry(field.getKey(), field.getValue(), dataSize));
            }
        }
        checkTiling(entries.values(), dataSize);
        return new Parsed(Collections.unmodifiableMap(entries), metadata, dataStart, dataSize);
    }

    private Map<String, String> metadata(JsonNode node) {
        if (!node.isObject()) throw bad(METADATA_KEY, "is not a JSON object of strings");
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) throw bad(METADATA_KEY + " '" + e.getKey() + "'", "is not a string");
            out.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(out);
    }

    private SafetensorsEntry entry(String name, JsonNode node, long dataSize) {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) throw bad(where, "entry is not a JSON object");
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            String key = e.getKey();
            if (!key.equals("dtype") && !key.equals("shape") && !key.equals("data_offsets")) {
                throw bad(where, "unexpected field '" + key + "'");
            }
        }
        JsonNode dtypeNode = required(node, where, "dtype");
        if (!dtypeNode.isTextual()) throw bad(where + " dtype", "is not a string");
        SafetensorsDType dtype = SafetensorsDType.byName(dtypeNode.textValue());
        if (dtype == null) throw bad(where + " dtype", "unknown dtype '" + dtypeNode.textValue() + "'");

        long[] shape = longs(required(node, where, "shape"), where + " shape", -1);
        long[] offsets = longs(required(node, where, "data_offsets"), where + " data_offsets", 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) throw bad(where + " data_offsets", "begin " + begin + " is after end " + end);
        if (end > dataSize) {
            throw bad(where + " data_offsets", "end " + end + " is past the end of the data (" + dataSize + " bytes)");
        }
        long bytes;
        try {
            long numel = 1;
            for (long d : shape) numel = Math.multiplyExact(numel, d);
            bytes = Math.multiplyExact(numel, dtype.bytes());
        } catch (ArithmeticException e) {
            throw bad(where + " shape", Arrays.toString(shape) + " overflows a 64-bit byte count");
        }
        if (bytes != end - begin) {
            throw bad(where + " data_offsets", "[" + begin + ", " + end + ") holds " + (end - begin) + " bytes but "
                    + dtype + " " + Arrays.toString(shape) + " needs " + bytes);
        }
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    private JsonNode required(JsonNode node, String where, String key) {
        JsonNode v = node.get(key);
        if (v == null) throw bad(where, "missing '" + key + "'");
        return v;
    }

    /** A JSON array of non-negative integers that fit a long; {@code length} -1 for any length. */
    private long[] longs(JsonNode node, String where, int length) {
        if (!node.isArray()) throw bad(where, "is not a JSON array");
        if (length >= 0 && node.size() != length) throw bad(where, "has " + node.size() + " entries, not " + length);
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw bad(where, "entry " + i + " (" + v + ") is not a non-negative 64-bit integer");
            }
            out[i] = v.longValue();
        }
        return out;
    }

    /** The tensors, sorted by position, must cover [0, dataSize) exactly once. */
    private void checkTiling(Collection<SafetensorsEntry> entries, long dataSize) {
        List<SafetensorsEntry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(SafetensorsEntry::begin).thenComparingLong(SafetensorsEntry::end));
        long covered = 0;
        SafetensorsEntry previous = null;
        for (SafetensorsEntry e : sorted) {
            if (e.begin() < covered) {
                throw bad("tensor '" + e.name() + "' data_offsets", "[" + e.begin() + ", " + e.end()
                        + ") overlaps tensor '" + previous.name() + "' [" + previous.begin() + ", " + previous.end() + ")");
            }
            if (e.begin() > covered) {
                throw bad("tensor '" + e.name() + "' data_offsets", "leaves a gap of " + (e.begin() - covered)
                        + " unused bytes before it, at " + covered);
            }
            covered = e.end();
            previous = e;
        }
        if (covered != dataSize) {
            throw bad("data", (dataSize - covered) + " bytes after the last tensor belong to no tensor");
        }
    }
}
