package org.moe4j.io;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.moe4j.common.Moe4jException;
import org.moe4j.nn.Module;
import org.moe4j.optim.Optimizer;
import org.moe4j.optim.OptimizerState;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;

/**
 * A run directory of numbered checkpoints ({@code ckpt-000120/}, ...) and a {@code latest} pointer file. A save
 * never leaves a half-written checkpoint where a loader looks: everything goes into {@code ckpt-N.tmp/}, each
 * file is synced, the directory is synced and renamed to {@code ckpt-N/}, and only then is {@code latest}
 * replaced (by an atomic rename of a synced temporary file). A crash at any moment leaves {@code latest}
 * naming a complete checkpoint. Older checkpoints are pruned afterwards, keeping the newest {@code keep}.
 *
 * <p>One writer per run directory.
 */
public final class CheckpointStore {
    static final String LATEST = "latest";
    private static final Pattern NAME = Pattern.compile("ckpt-(\\d{1,18})");
    private static final Pattern LEFTOVER = Pattern.compile("ckpt-\\d{1,18}\\.(tmp|old)");

    /** Called at each point of a save (after each file, after the rename, after the pointer): lets tests crash there. */
    interface SaveHook {
        void reached(String point) throws IOException;
    }

    private final Path root;
    private final int keep;
    private SaveHook hook = point -> {};

    /** A store in {@code root} (created on first save) that keeps the newest {@code keep} checkpoints. */
    public CheckpointStore(Path root, int keep) {
        if (keep < 1) throw new Moe4jException("checkpoint store: keep must be at least 1, got " + keep);
        this.root = root;
        this.keep = keep;
    }

    CheckpointStore withHook(SaveHook hook) {
        this.hook = hook;
        return this;
    }

    public Path root() {
        return root;
    }

    /** The directory name of the checkpoint at {@code step}: {@code ckpt-000123}. */
    public static String directoryName(long step) {
        return String.format("ckpt-%06d", step);
    }

    /**
     * Saves a checkpoint for {@code state.step()} and returns its directory. The optimizer may be null (weights
     * only); {@code config} is any record (or other Jackson-serializable value). Refuses, before writing
     * anything, when a parameter, buffer or optimizer tensor holds a NaN or infinity.
     */
    public Path save(Module model, Optimizer optimizer, Object config, Provenance provenance, TrainingState state) {
        return save(model, optimizer, config, provenance, state, Map.of());
    }

    /**
     * As {@link #save(Module, Optimizer, Object, Provenance, TrainingState)}, with {@code extraFiles} (plain file
     * names to contents, e.g. a language model's {@code tokenizer.json}) written and synced into the checkpoint
     * directory before it is renamed into place, so they appear atomically with the rest.
     */
    public Path save(Module model, Optimizer optimizer, Object config, Provenance provenance, TrainingState state,
            Map<String, byte[]> extraFiles) {
        for (String f : extraFiles.keySet()) {
            boolean plain = f.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,100}");
            if (!plain || f.equals(Checkpoint.OPTIMIZER) || Checkpoint.REQUIRED.contains(f)) {
                throw new Moe4jException("checkpoint store: extra file name '" + f + "' must be a plain file name other "
                        + "than the checkpoint's own files " + Checkpoint.REQUIRED);
            }
        }
        Map<String, Tensor> weights = Checkpoint.modelTensors(model);
        weights.forEach((name, t) -> requireFinite("parameter or buffer", name, t));
        OptimizerState optState = optimizer == null ? null : optimizer.state();
        List<String> paramNames = optimizer == null ? null : Checkpoint.parameterNames(optimizer, model);
        if (optState != null) optState.tensors().forEach((name, t) -> requireFinite("optimizer tensor", name, t));

        String name = directoryName(state.step());
        Path dst = root.resolve(name);
        Path tmp = root.resolve(name + ".tmp");
        try {
            Files.createDirectories(root);
            if (Files.exists(dst)) {
                if (readPointer(root).filter(dst::equals).isPresent()) {
                    throw new Moe4jException("checkpoint " + dst + " already exists and is the latest; each step is saved once");
                }
                retire(dst); // written by a save that crashed before updating 'latest': never the one loaded
            }
            deleteTree(tmp);
            Files.createDirectory(tmp);
            writeFiles(tmp, weights, optState, paramNames, config, provenance, state);
            for (Map.Entry<String, byte[]> f : extraFiles.entrySet()) {
                FileSync.writeSynced(tmp.resolve(f.getKey()), f.getValue());
                hook.reached(f.getKey());
            }
            FileSync.syncDirectory(tmp);
            Files.move(tmp, dst, StandardCopyOption.ATOMIC_MOVE);
            FileSync.syncDirectory(root);
            hook.reached("renamed");
            writePointer(name);
            hook.reached(LATEST);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException("cannot save checkpoint " + dst + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
        prune();
        return dst;
    }

    private void writeFiles(Path dir, Map<String, Tensor> weights, OptimizerState opt, List<String> paramNames,
            Object config, Provenance provenance, TrainingState state) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(Checkpoint.FORMAT_KEY, "model");
        meta.put(Checkpoint.VERSION_KEY, Integer.toString(CheckpointJson.FORMAT_VERSION));
        Safetensors.write(dir.resolve(Checkpoint.MODEL), weights, meta);
        hook.reached(Checkpoint.MODEL);
        if (opt != null) {
            Map<String, String> om = new LinkedHashMap<>();
            om.put(Checkpoint.FORMAT_KEY, "optimizer");
            om.put(Checkpoint.VERSION_KEY, Integer.toString(CheckpointJson.FORMAT_VERSION));
            om.put("kind", opt.kind());
            om.put("steps", Long.toString(opt.steps()));
            om.put("learning_rate", Double.toString(opt.learningRate())); // shortest string that reads back exactly
            om.put("parameters", Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(paramNames));
            Safetensors.write(dir.resolve(Checkpoint.OPTIMIZER), opt.tensors(), om);
            hook.reached(Checkpoint.OPTIMIZER);
        }
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.put("config_class", config == null ? "null" : config.getClass().getName());
        c.set("config", CheckpointJson.tree(config));
        CheckpointJson.write(dir.resolve(Checkpoint.CONFIG), "moe4j-config", c);
        hook.reached(Checkpoint.CONFIG);
        CheckpointJson.write(dir.resolve(Checkpoint.PROVENANCE), "moe4j-provenance", CheckpointJson.tree(provenance));
        hook.reached(Checkpoint.PROVENANCE);
        CheckpointJson.write(dir.resolve(Checkpoint.STATE), "moe4j-state", CheckpointJson.tree(state));
        hook.reached(Checkpoint.STATE);
    }

    /** Never write a NaN checkpoint: a run resumed from it could only go on producing NaN. */
    private static void requireFinite(String what, String name, Tensor t) {
        int n = t.numel();
        boolean contiguous = t.isContiguous();
        for (int i = 0; i < n; i++) {
            int at = contiguous ? t.offset() + i : t.storageIndex(i);
            double v = t.dtype() == DType.F32 ? t.floats()[at] : t.storage().get(at);
            if (!Double.isFinite(v)) {
                throw new Moe4jException("refusing to save a checkpoint: " + what + " '" + name + "' holds " + v
                        + " at element " + i + "; a checkpoint must be resumable (lower the learning rate, clip "
                        + "gradients, or resume from the previous checkpoint)");
            }
        }
    }

    private void writePointer(String name) throws IOException {
        Path tmp = root.resolve(LATEST + ".tmp");
        FileSync.writeSynced(tmp, (name + "\n").getBytes(StandardCharsets.US_ASCII));
        Files.move(tmp, root.resolve(LATEST), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        FileSync.syncDirectory(root);
    }

    /**
     * Deletes all but the newest {@code keep} checkpoints (never the latest) and leftovers of crashed saves. Each
     * goes out of sight first (renamed to {@code ckpt-N.old}), so that no reader listing the directory, and no
     * crash half-way through a deletion, ever sees a partly deleted checkpoint under a checkpoint's name.
     */
    private void prune() {
        try {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
                for (Path p : ds) {
                    if (LEFTOVER.matcher(p.getFileName().toString()).matches()) deleteQuietly(p);
                }
            }
            Optional<Path> latest = readPointer(root);
            List<Path> all = complete(root);
            for (int i = 0; i < all.size() - keep; i++) {
                if (latest.filter(all.get(i)::equals).isEmpty()) retire(all.get(i));
            }
        } catch (IOException e) {
            // pruning is housekeeping: the checkpoint itself is saved, and the next save tries again
        }
    }

    /** Renames a checkpoint out of sight (atomically), then deletes it. */
    private static void retire(Path dir) throws IOException {
        Path old = dir.resolveSibling(dir.getFileName() + ".old");
        deleteTree(old);
        Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
        deleteQuietly(old);
    }

    /** Complete checkpoints, oldest first. */
    public List<Path> checkpoints() {
        return complete(root);
    }

    /** The checkpoint a resume should use: the one {@code latest} names, else the newest complete one. */
    public Optional<Path> latest() {
        return latestIn(root);
    }

    static Optional<Path> latestIn(Path root) {
        Optional<Path> pointed = readPointer(root).filter(CheckpointStore::isComplete);
        if (pointed.isPresent()) return pointed;
        List<Path> all = complete(root);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }

    /** The directory {@code latest} names, if it holds a well-formed name (the file is not trusted further). */
    private static Optional<Path> readPointer(Path root) {
        Path pointer = root.resolve(LATEST);
        try {
            if (!Files.isRegularFile(pointer) || Files.size(pointer) > 64) return Optional.empty();
            String name = Files.readString(pointer, StandardCharsets.US_ASCII).strip();
            return NAME.matcher(name).matches() ? Optional.of(root.resolve(name)) : Optional.empty();
        } catch (IOException e) { // unreadable, or not ASCII
            return Optional.empty();
        }
    }

    private static boolean isComplete(Path dir) {
        if (!Files.isDirectory(dir)) return false;
        for (String f : Checkpoint.REQUIRED) {
            if (!Files.isRegularFile(dir.resolve(f))) return false;
        }
        return true;
    }

    private static List<Path> complete(Path root) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(root)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                if (NAME.matcher(p.getFileName().toString()).matches() && isComplete(p)) out.add(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list checkpoints in " + root + ": " + e.getMessage(), e);
        }
        out.sort(Comparator.comparingLong(CheckpointStore::stepOf));
        return out;
    }

    private static long stepOf(Path dir) {
        Matcher m = NAME.matcher(dir.getFileName().toString());
        if (!m.matches()) throw new IllegalStateException("not a checkpoint name: " + dir);
        return Long.parseLong(m.group(1));
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            deleteTree(dir);
        } catch (IOException | UncheckedIOException e) {
            // a leftover is removed by the next save's pruning
        }
    }
}
