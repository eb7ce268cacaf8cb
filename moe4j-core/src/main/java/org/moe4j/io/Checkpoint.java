package org.moe4j.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.nn.Module;
import org.moe4j.optim.Optimizer;
import org.moe4j.optim.OptimizerState;
import org.moe4j.tensor.Tensor;

/**
 * One complete checkpoint directory, opened for reading: its JSON files are read and checked at once, the
 * weights and optimizer state when loaded into a model and optimizer built to match. Written by
 * {@link CheckpointStore}. The files:
 * <ul>
 *   <li>{@code model.safetensors}: every parameter and buffer of the model by dotted name;
 *   <li>{@code optimizer.safetensors}: the optimizer's state tensors, its kind, step count and learning rate;
 *   <li>{@code config.json}: the run's configuration record; {@code provenance.json}: {@link Provenance};
 *   <li>{@code state.json}: {@link TrainingState} (step, epoch, data position, generators, metrics).
 * </ul>
 */
public final class Checkpoint {
    public static final String MODEL = "model.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String CONFIG = "config.json";
    public static final String PROVENANCE = "provenance.json";
    public static final String STATE = "state.json";
    static final List<String> REQUIRED = List.of(MODEL, CONFIG, PROVENANCE, STATE);

    static final String FORMAT_KEY = "moe4j_format";
    static final String VERSION_KEY = "moe4j_format_version";

    private final Path dir;
    private final TrainingState state;
    private final Provenance provenance;
    private final String configClass;
    private final JsonNode config;

    private Checkpoint(Path dir) {
        this.dir = dir;
        for (String f : REQUIRED) {
            if (!Files.isRegularFile(dir.resolve(f))) throw new FileFormatException(dir.resolve(f).toString(), "file", "is missing");
        }
        Path stateFile = dir.resolve(STATE);
        this.state = CheckpointJson.convert(stateFile, CheckpointJson.read(stateFile, "moe4j-state"), TrainingState.class);
        Path provFile = dir.resolve(PROVENANCE);
        this.provenance = CheckpointJson.convert(provFile, CheckpointJson.read(provFile, "moe4j-provenance"), Provenance.class);
        Path configFile = dir.resolve(CONFIG);
        ObjectNode c = CheckpointJson.read(configFile, "moe4j-config");
        JsonNode cls = c.get("config_class");
        if (cls == null || !cls.isTextual()) throw new FileFormatException(configFile.toString(), "config_class", "is missing or not a string");
        if (!c.has("config")) throw new FileFormatException(configFile.toString(), "config", "is missing");
        this.configClass = cls.textValue();
        this.config = c.get("config");
    }

    /**
     * Opens {@code path}: a checkpoint directory itself, or a run directory, where the checkpoint named by its
     * {@code latest} pointer is taken (or, without a usable pointer, the newest complete one).
     */
    public static Checkpoint open(Path path) {
        if (Files.isRegularFile(path.resolve(MODEL))) return new Checkpoint(path);
        if (!Files.isDirectory(path)) throw new Moe4jException("checkpoint: " + path + " is not a directory");
        Path latest = CheckpointStore.latestIn(path).orElseThrow(() -> new Moe4jException("checkpoint: " + path
                + " holds no checkpoint (no model.safetensors, no 'latest' pointer, no complete ckpt-N directory)"));
        return new Checkpoint(latest);
    }

    public Path dir() {
        return dir;
    }

    public TrainingState state() {
        return state;
    }

    public Provenance provenance() {
        return provenance;
    }

    /** The class name of the saved configuration record. */
    public String configClass() {
        return configClass;
    }

    /** The saved configuration as {@code type} (the record saved, or one with the same fields). */
    public <C> C config(Class<C> type) {
        return CheckpointJson.convert(dir.resolve(CONFIG), config, type);
    }

    /**
     * One top-level field of the saved configuration as {@code type} (read as the config was written), or null when
     * the field is absent or JSON null; a value that does not fit {@code type} names the file and the field.
     */
    public <C> C configField(String field, Class<C> type) {
        JsonNode node = config.get(field);
        if (node == null || node.isNull()) return null;
        Path file = dir.resolve(CONFIG);
        try {
            return Json.MAPPER.treeToValue(node, type);
        } catch (JacksonException | IllegalArgumentException e) {
            String problem = e instanceof JacksonException j ? j.getOriginalMessage() : e.getMessage();
            throw new FileFormatException(file.toString(), "config." + field, problem, e);
        }
    }

    public boolean hasOptimizer() {
        return Files.isRegularFile(dir.resolve(OPTIMIZER));
    }

    /** The tensors a checkpoint keeps for a model: its parameters' values, then its buffers. */
    static Map<String, Tensor> modelTensors(Module model) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> out.put(name, p.value()));
        model.namedBuffers().forEach(out::put);
        return out;
    }

    /** The model's name of each optimizer parameter, in the optimizer's order. */
    static List<String> parameterNames(Optimizer optimizer, Module model) {
        Map<Variable, String> names = new IdentityHashMap<>();
        model.namedParameters().forEach((name, p) -> names.put(p, name));
        List<String> out = new ArrayList<>();
        List<Variable> params = optimizer.parameters();
        for (int i = 0; i < params.size(); i++) {
            String name = names.get(params.get(i));
            if (name == null) throw new Moe4jException("checkpoint: optimizer parameter " + i + " is not a parameter of the model");
            out.add(name);
        }
        return out;
    }

    /**
     * Copies the saved weights into {@code model}, which must have exactly the saved tensors with the saved
     * shapes; everything is checked before anything is written, so a mismatch leaves the model as it was.
     */
    public void loadModel(Module model) {
        Map<String, Tensor> targets = modelTensors(model);
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(MODEL))) {
            checkKind(f, "model");
            for (Map.Entry<String, Tensor> t : targets.entrySet()) {
                if (!f.contains(t.getKey())) {
                    throw new Moe4jException("checkpoint " + dir + " lacks tensor '" + t.getKey()
                            + "' that the model has (was the model built from this checkpoint's config?)");
                }
                checkShape(t.getKey(), f.entry(t.getKey()).shape(), t.getValue().shape(), "");
            }
            for (String name : f.names()) {
                if (!targets.containsKey(name)) throw new Moe4jException("checkpoint " + dir + " has tensor '" + name + "' that the model lacks");
            }
            Map<String, Variable> params = model.namedParameters();
            for (Map.Entry<String, Tensor> t : targets.entrySet()) {
                Variable p = params.get(t.getKey()); // null for a buffer
                Tensor target = p == null ? t.getValue() : p.materialize();
                target.copyFrom(f.tensor(t.getKey(), target.dtype()));
            }
        }
    }

    /** Restores the optimizer's step count, learning rate and state, checked against {@code model}'s names and shapes. */
    public void loadOptimizer(Optimizer optimizer, Module model) {
        Path file = dir.resolve(OPTIMIZER);
        if (!Files.isRegularFile(file)) throw new FileFormatException(file.toString(), "file", "is missing (saved without an optimizer)");
        List<String> names = parameterNames(optimizer, model);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            checkKind(f, "optimizer");
            String kind = metaString(f, "kind");
            long steps = parseLong(f, "steps");
            double lr = parseDouble(f, "learning_rate");
            List<String> saved = parseNames(f);
            if (!saved.equals(names)) {
                throw new Moe4jException("checkpoint " + dir + ": the optimizer was saved for parameters " + saved
                        + " but now holds " + names);
            }
            List<Variable> params = optimizer.parameters();
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String key : f.names()) {
                int dot = key.lastIndexOf('.');
                int index = dot < 0 ? -1 : parseIndex(key.substring(dot + 1), params.size());
                if (index < 0) throw new FileFormatException(file.toString(), "tensor '" + key + "'", "is not named <buffer>.<parameter index>");
                Variable p = params.get(index);
                checkShape(key, f.entry(key).shape(), p.shape(), " (for parameter '" + names.get(index) + "')");
                tensors.put(key, f.tensor(key, p.value().dtype()));
            }
            try {
                optimizer.loadState(new OptimizerState(kind, steps, lr, tensors));
            } catch (FileFormatException e) {
                throw e;
            } catch (Moe4jException e) {
                throw new Moe4jException("checkpoint " + dir + ": " + e.getMessage(), e);
            }
        }
    }

    private void checkShape(String name, long[] saved, int[] actual, String note) {
        boolean same = saved.length == actual.length;
        for (int i = 0; same && i < saved.length; i++) same = saved[i] == actual[i];
        if (!same) {
            throw new Moe4jException("checkpoint " + dir + ": tensor '" + name + "'" + note + " has shape "
                    + Arrays.toString(saved) + " in the checkpoint but " + Arrays.toString(actual) + " in the model");
        }
    }

    private static void checkKind(SafetensorsFile f, String kind) {
        String k = f.metadata().get(FORMAT_KEY);
        if (!kind.equals(k)) {
            throw new FileFormatException(f.source(), "__metadata__ '" + FORMAT_KEY + "'", "is " + k + ", expected " + kind);
        }
        String v = f.metadata().get(VERSION_KEY);
        if (!String.valueOf(CheckpointJson.FORMAT_VERSION).equals(v)) {
            throw new FileFormatException(f.source(), "__metadata__ '" + VERSION_KEY + "'", "is " + v
                    + "; this moe4j reads version " + CheckpointJson.FORMAT_VERSION);
        }
    }

    private static String metaString(SafetensorsFile f, String key) {
        String v = f.metadata().get(key);
        if (v == null) throw new FileFormatException(f.source(), "__metadata__ '" + key + "'", "is missing");
        return v;
    }

    private static long parseLong(SafetensorsFile f, String key) {
        String v = metaString(f, key);
        try {
            long n = Long.parseLong(v);
            if (n >= 0) return n;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new FileFormatException(f.source(), "__metadata__ '" + key + "'", "'" + v + "' is not a non-negative integer");
    }

    private static double parseDouble(SafetensorsFile f, String key) {
        String v = metaString(f, key);
        try {
            double d = Double.parseDouble(v);
            if (d >= 0 && !Double.isInfinite(d)) return d;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new FileFormatException(f.source(), "__metadata__ '" + key + "'", "'" + v + "' is not a finite non-negative number");
    }

    private static List<String> parseNames(SafetensorsFile f) {
        String v = metaString(f, "parameters");
        try {
            JsonNode node = Json.MAPPER.readTree(v);
            List<String> out = new ArrayList<>();
            if (node != null && node.isArray()) {
                for (JsonNode n : node) {
                    if (!n.isTextual()) break;
                    out.add(n.textValue());
                }
                if (out.size() == node.size()) return out;
            }
        } catch (JacksonException e) {
            // reported below
        }
        throw new FileFormatException(f.source(), "__metadata__ 'parameters'", "is not a JSON array of parameter names");
    }

    private static int parseIndex(String s, int size) {
        if (s.isEmpty() || s.length() > 9 || !s.chars().allMatch(Character::isDigit)) return -1;
        int i = Integer.parseInt(s);
        return i < size ? i : -1;
    }
}
