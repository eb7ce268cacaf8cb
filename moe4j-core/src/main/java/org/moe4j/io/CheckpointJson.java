package org.moe4j.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.moe4j.common.Moe4jException;

/**
 * The JSON files of a checkpoint. Each starts with {@code "format"} (what the file is) and {@code
 * "format_version"}, so that a later moe4j recognises old checkpoints and refuses newer ones clearly.
 */
final class CheckpointJson {
    static final int FORMAT_VERSION = 1;
    /** Far above any config or state we write; a bound on what a damaged or hostile file can make us read. */
    private static final long MAX_BYTES = 256L << 20;

    private CheckpointJson() {}

    /** {"format": format, "format_version": 1, ...the fields of body}, written and synced. */
    static void write(Path file, String format, ObjectNode body) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("format", format);
        root.put("format_version", FORMAT_VERSION);
        root.setAll(body);
        try {
            FileSync.writeSynced(file, Json.MAPPER.writeValueAsBytes(root));
        } catch (JacksonException e) {
            throw new IllegalStateException("cannot write JSON for " + file + ": " + e.getOriginalMessage(), e);
        }
    }

    /** The value as a JSON tree (records, maps, lists and plain values, nested as deep as they go). */
    static <T extends JsonNode> T tree(Object value) {
        try {
            return Json.MAPPER.valueToTree(value);
        } catch (IllegalArgumentException e) {
            throw new Moe4jException("checkpoint: cannot write a " + value.getClass().getName()
                    + " as JSON (use a record of plain values, lists and maps): " + e.getMessage(), e);
        }
    }

    /** Reads a file written by {@link #write}, checks its format and version, and returns it without them. */
    static ObjectNode read(Path file, String format) {
        ObjectNode root;
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) throw new FileFormatException(file.toString(), "size", size + " bytes exceeds the limit of " + MAX_BYTES);
            JsonNode node = Json.MAPPER.readTree(Files.readAllBytes(file));
            if (node == null || !node.isObject()) throw new FileFormatException(file.toString(), "JSON", "is not a JSON object");
            root = (ObjectNode) node;
        } catch (NoSuchFileException e) {
            throw new FileFormatException(file.toString(), "file", "is missing");
        } catch (JacksonException e) {
            throw new FileFormatException(file.toString(), "JSON", e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        JsonNode f = root.remove("format");
        if (f == null || !f.isTextual() || !f.textValue().equals(format)) {
            throw new FileFormatException(file.toString(), "format", "is " + f + ", expected \"" + format + "\"");
        }
        JsonNode v = root.remove("format_version");
        if (v == null || !v.isIntegralNumber() || v.longValue() < 1) {
            throw new FileFormatException(file.toString(), "format_version", "is " + v + ", expected a positive integer");
        }
        if (v.longValue() > FORMAT_VERSION) {
            throw new FileFormatException(file.toString(), "format_version", v.longValue()
                    + " was written by a newer moe4j; this one reads up to " + FORMAT_VERSION);
        }
        return root;
    }

    /** The tree as a {@code type}, with Jackson's complaint (and the JSON path) turned into our exception. */
    static <T> T convert(Path file, JsonNode tree, Class<T> type) {
        try {
            return Json.MAPPER.treeToValue(tree, type);
        } catch (JsonMappingException e) {
            String where = e.getPathReference() == null || e.getPath().isEmpty() ? type.getSimpleName() : e.getPathReference();
            throw new FileFormatException(file.toString(), where, e.getOriginalMessage(), e);
        } catch (JacksonException | IllegalArgumentException e) {
            throw new FileFormatException(file.toString(), type.getSimpleName(), e.getMessage(), e);
        }
    }
}
