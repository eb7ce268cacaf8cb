package org.moe4j.io.hf;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.moe4j.io.FileFormatException;

/** JSON reading and atomic writing for the small files of a Hugging Face model directory. */
final class HfFiles {
    /** config.json and the shard index are kilobytes; anything near this is not one of them. */
    static final long MAX_JSON_BYTES = 64L << 20;

    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private HfFiles() {}

    /** A JSON object read from {@code file}; any problem names the file. */
    static JsonNode readJson(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_JSON_BYTES) {
                throw new FileFormatException(file.toString(), "size", size + " bytes exceeds the " + MAX_JSON_BYTES
                        + " a JSON file of a model directory may have");
            }
            return parseJson(Files.readAllBytes(file), file.toString());
        } catch (NoSuchFileException e) {
            throw new FileFormatException(file.toString(), "file", "does not exist", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    static JsonNode parseJson(byte[] bytes, String source) {
        JsonNode root;
        try {
            root = MAPPER.readTree(bytes);
        } catch (JacksonException e) {
            throw new FileFormatException(source, "JSON", e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new FileFormatException(source, "JSON", e.getMessage(), e);
        }
        if (root == null || !root.isObject()) throw new FileFormatException(source, "JSON", "is not a JSON object");
        return root;
    }

    /** Writes pretty JSON through a temporary file and a rename. */
    static void writeJson(Path file, JsonNode node) {
        try {
            writeAtomically(file, (MAPPER.writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (JacksonException e) {
            throw new IllegalStateException("cannot write a JSON tree of plain values", e);
        }
    }

    static void writeAtomically(Path file, byte[] bytes) {
        Path tmp = tempFor(file);
        try {
            Files.write(tmp, bytes);
            moveInto(tmp, file);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    static Path tempFor(Path file) {
        return file.resolveSibling("." + file.getFileName() + ".tmp");
    }

    static void moveInto(Path tmp, Path file) throws IOException {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // best effort: the write already failed with its own error
        }
    }
}
