package org.moe4j.io.hf;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.io.FileFormatException;
import org.moe4j.io.SafetensorsFile;

/**
 * The safetensors files of a model directory, opened (memory-mapped) once each: {@code model.safetensors}, or the
 * shards named by {@code model.safetensors.index.json}. The index is untrusted: its file names must be plain names
 * inside the directory, and it must agree with the shards tensor by tensor.
 */
final class HfShards implements AutoCloseable {
    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";

    private final List<SafetensorsFile> files = new ArrayList<>();
    private final Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();

    private HfShards() {}

    static HfShards open(Path dir) {
        HfShards s = new HfShards();
        try {
            Path index = dir.resolve(INDEX);
            if (Files.isRegularFile(index)) {
                s.openIndexed(dir, index);
            } else if (Files.isRegularFile(dir.resolve(SINGLE))) {
                SafetensorsFile f = SafetensorsFile.open(dir.resolve(SINGLE));
                s.files.add(f);
                for (String name : f.names()) s.byTensor.put(name, f);
            } else {
                throw new FileFormatException(dir.toString(), "weights", "neither " + SINGLE + " nor " + INDEX
                        + " is in the directory");
            }
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private void openIndexed(Path dir, Path index) {
        String src = index.toString();
        JsonNode map = HfFiles.readJson(index).get("weight_map");
        if (map == null || !map.isObject()) throw new FileFormatException(src, "weight_map", "is missing or not an object");
        Map<String, SafetensorsFile> opened = new LinkedHashMap<>();
        Map<String, String> listed = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String where = "weight_map '" + e.getKey() + "'";
            if (!e.getValue().isTextual()) throw new FileFormatException(src, where, "is not a file name");
            String file = e.getValue().textValue();
            checkPlainName(src, where, file);
            SafetensorsFile f = opened.get(file);
            if (f == null) {
                Path p = dir.resolve(file);
                if (!Files.isRegularFile(p)) throw new FileFormatException(src, where, "shard '" + file + "' does not exist");
                f = SafetensorsFile.open(p);
                files.add(f);
                opened.put(file, f);
            }
            if (!f.contains(e.getKey())) {
                throw new FileFormatException(src, where, "shard '" + file + "' has no such tensor");
            }
            byTensor.put(e.getKey(), f);
            listed.put(e.getKey(), file);
        }
        for (Map.Entry<String, SafetensorsFile> e : opened.entrySet()) {
            for (String name : e.getValue().names()) {
                if (!e.getKey().equals(listed.get(name))) {
                    throw new FileFormatException(e.getValue().source(), "tensor '" + name + "'", "is not listed for"
                            + " this shard in " + INDEX + (listed.containsKey(name) ? " (listed in " + listed.get(name)
                            + ")" : ""));
                }
            }
        }
    }

    /** A shard name is one file name ending in .safetensors: no directories, no parent references. */
    private static void checkPlainName(String src, String where, String file) {
        boolean plain = !file.isEmpty() && file.endsWith(".safetensors") && !file.startsWith(".")
                && file.chars().noneMatch(c -> c == '/' || c == '\\' || c == ':' || c < 0x20);
        if (!plain) {
            throw new FileFormatException(src, where, "'" + file + "' is not a plain .safetensors file name in the"
                    + " model directory");
        }
    }

    /** Every tensor name, in file order. */
    List<String> names() {
        return new ArrayList<>(byTensor.keySet());
    }

    boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    /** The file holding {@code name}; call {@link #contains} first. */
    SafetensorsFile file(String name) {
        return byTensor.get(name);
    }

    @Override
    public void close() {
        for (SafetensorsFile f : files) f.close();
    }
}
