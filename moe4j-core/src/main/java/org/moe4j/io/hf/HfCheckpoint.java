package org.moe4j.io.hf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.moe4j.nn.Init;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.io.FileFormatException;
import org.moe4j.io.Safetensors;
import org.moe4j.io.SafetensorsDType;
import org.moe4j.io.SafetensorsEntry;
import org.moe4j.io.SafetensorsFile;
import org.moe4j.io.tokenizer.BpeTokenizer;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.io.tokenizer.TokenizerJson;
import org.moe4j.model.TransformerLm;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;

/**
 * Hugging Face model directories of the MoE architectures: {@code config.json}, the weights in
 * {@code model.safetensors} or shards with {@code model.safetensors.index.json} (F32, F16 or BF16, read as F32),
 * and {@code tokenizer.json} when present. Every parameter must be found with its exact shape and every tensor of
 * the files used, so a renamed, missing or extra tensor is an error, never a silently random weight.
 */
public final class HfCheckpoint {
    public static final String CONFIG = "config.json";
    public static final String TOKENIZER = "tokenizer.json";
    private static final Map<String, String> FORMAT_PT = Map.of("format", "pt");

    private HfCheckpoint() {}

    /** Loads the model (and the tokenizer, when tokenizer.json is present and readable) from {@code dir}. */
    public static HfModel load(Path dir) {
        HfConfig config = HfConfig.read(dir.resolve(CONFIG));
        TransformerLm model;
        try (var deferred = Init.deferred()) { // the files give every weight: no random draws, no memory until then
            model = new TransformerLm(config.transformer(), new Rng(0));
        }
        readWeights(model, config.architecture(), dir);
        Path tok = dir.resolve(TOKENIZER);
        if (!Files.isRegularFile(tok)) return new HfModel(model, config.architecture(), Optional.empty(), "no " + TOKENIZER);
        try {
            return new HfModel(model, config.architecture(), Optional.of(TokenizerJson.read(tok)), "");
        } catch (Moe4jException e) {
            return new HfModel(model, config.architecture(), Optional.empty(), e.getMessage());
        }
    }

    /** Fills every parameter of {@code model} from the safetensors weights in {@code dir}, named as {@code arch} names them. */
    public static void readWeights(TransformerLm model, HfArchitecture arch, Path dir) {
        if (!model.namedBuffers().isEmpty()) {
            throw new Moe4jException("hf checkpoint: the model has buffers " + model.namedBuffers().keySet()
                    + " that " + arch.className() + " does not store");
        }
        Map<String, Variable> params = model.namedParameters();
        try (HfShards shards = HfShards.open(dir)) {
            Set<String> used = new HashSet<>();
            Set<String> filled = new HashSet<>();
            for (HfTensorNames.Entry e : HfTensorNames.of(model, arch)) {
                Tensor p = params.get(e.parameter()).materialize();
                int[] shape = p.shape();
                switch (e.kind()) {
                    case PLAIN -> copy(shards, dir, e.file(), shape, p, used);
                    case LEADING_ONE -> copy(shards, dir, e.file(), Arrays.copyOfRange(shape, 1, shape.length),
                            p.reshape(Arrays.copyOfRange(shape, 1, shape.length)), used);
                    case EXPERTS -> {
                        int[] one = Arrays.copyOfRange(shape, 1, shape.length);
                        for (int x = 0; x < shape[0]; x++) copy(shards, dir, e.expert(x), one, p.narrow(0, x, 1).reshape(one), used);
                    }
                }
                filled.add(e.parameter());
            }
            if (!filled.equals(params.keySet())) { // the name table must cover the model: a bug here, not in the file
                Set<String> missing = new LinkedHashSet<>(params.keySet());
                missing.removeAll(filled);
                throw new IllegalStateException("no Hugging Face name for parameters " + missing);
            }
            if (model.head() == null && shards.contains(HfTensorNames.LM_HEAD)) {
                checkTiedHead(shards, dir, params.get("embedding.weight").value(), used);
            }
            List<String> unused = new ArrayList<>();
            for (String n : shards.names()) if (!used.contains(n)) unused.add(n);
            if (!unused.isEmpty()) {
                throw new FileFormatException(dir.toString(), "tensor '" + unused.get(0) + "'", "is not a weight of this "
                        + arch.className() + " model (" + unused.size() + " unused tensor(s): "
                        + String.join(", ", unused.subList(0, Math.min(5, unused.size())))
                        + (unused.size() > 5 ? ", ..." : "") + "); check config.json against the weights");
            }
        }
    }

    private static void copy(HfShards shards, Path dir, String name, int[] shape, Tensor dst, Set<String> used) {
        if (!shards.contains(name)) {
            throw new FileFormatException(dir.toString(), "tensor '" + name + "'", "is missing; config.json describes a"
                    + " model that needs it " + Arrays.toString(shape));
        }
        SafetensorsFile f = shards.file(name);
        SafetensorsEntry entry = f.entry(name);
        long[] actual = entry.shape();
        boolean same = actual.length == shape.length;
        for (int i = 0; same && i < shape.length; i++) same = actual[i] == shape[i];
        if (!same) {
            throw new FileFormatException(f.source(), "tensor '" + name + "' shape", Arrays.toString(actual)
                    + " but config.json makes it " + Arrays.toString(shape));
        }
        dst.copyFrom(f.tensor(name, DType.F32));
        used.add(name);
    }

    /** A tied checkpoint may still store lm_head; it must then be the embedding. */
    private static void checkTiedHead(HfShards shards, Path dir, Tensor embedding, Set<String> used) {
        String name = HfTensorNames.LM_HEAD;
        SafetensorsFile f = shards.file(name);
        Tensor head = f.tensor(name, DType.F32);
        if (!Arrays.equals(head.shape(), embedding.shape())
                || !Arrays.equals(head.toFloatArray(), embedding.toFloatArray())) {
            throw new FileFormatException(f.source(), "tensor '" + name + "'", "differs from the embedding although"
                    + " config.json sets tie_word_embeddings; set it to false to use a separate head");
        }
        used.add(name);
    }

    /** Saves {@code model} as {@code arch} into {@code dir}: config.json and one model.safetensors in {@code dtype}. */
    public static void save(TransformerLm model, HfArchitecture arch, Path dir, SafetensorsDType dtype) {
        save(model, arch, dir, dtype, null, Long.MAX_VALUE);
    }

    /**
     * Saves {@code model} as {@code arch} into {@code dir}: config.json, the weights in {@code dtype} (F32 or BF16)
     * split into shards of at most {@code maxShardBytes} of data (with model.safetensors.index.json) when they do not
     * fit one, and tokenizer.json when {@code tokenizer} is not null. Each file is written to a temporary name and
     * renamed; weight files of an earlier save that the new one does not use are removed.
     */
    public static void save(TransformerLm model, HfArchitecture arch, Path dir, SafetensorsDType dtype,
            BpeTokenizer tokenizer, long maxShardBytes) {
        if (dtype != SafetensorsDType.F32 && dtype != SafetensorsDType.BF16) {
            throw new Moe4jException("hf checkpoint: weights are written as F32 or BF16, not " + dtype);
        }
        if (maxShardBytes <= 0) throw new Moe4jException("hf checkpoint: maxShardBytes must be positive, got " + maxShardBytes);
        ObjectNode config = HfConfig.toJson(model.config(), arch, dtype == SafetensorsDType.F32 ? "float32" : "bfloat16");
        Map<String, Tensor> tensors = tensors(model, arch);
        List<Map<String, Tensor>> shards = split(tensors, dtype, maxShardBytes);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
        }
        Set<String> written = new HashSet<>();
        if (shards.size() == 1) {
            writeShard(dir.resolve(HfShards.SINGLE), shards.get(0), dtype);
            written.add(HfShards.SINGLE);
        } else {
            ObjectNode index = HfFiles.MAPPER.createObjectNode();
            ObjectNode map = HfFiles.MAPPER.createObjectNode();
            long total = 0;
            for (int s = 0; s < shards.size(); s++) {
                String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
                writeShard(dir.resolve(file), shards.get(s), dtype);
                written.add(file);
                for (Map.Entry<String, Tensor> t : shards.get(s).entrySet()) {
                    map.put(t.getKey(), file);
                    total += (long) t.getValue().numel() * dtype.bytes();
                }
            }
            index.putObject("metadata").put("total_size", total);
            index.set("weight_map", map);
            HfFiles.writeJson(dir.resolve(HfShards.INDEX), index);
            written.add(HfShards.INDEX);
        }
        removeStaleWeights(dir, written);
        HfFiles.writeJson(dir.resolve(CONFIG), config);
        if (tokenizer != null) TokenizerJson.write(tokenizer, dir.resolve(TOKENIZER));
    }

    /** The model's weights under the architecture's names, experts unstacked (views, no copies). */
    static Map<String, Tensor> tensors(TransformerLm model, HfArchitecture arch) {
        Map<String, Variable> params = model.namedParameters();
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (HfTensorNames.Entry e : HfTensorNames.of(model, arch)) {
            Tensor p = params.get(e.parameter()).value();
            int[] shape = p.shape();
            int[] rest = Arrays.copyOfRange(shape, 1, shape.length);
            switch (e.kind()) {
                case PLAIN -> out.put(e.file(), p);
                case LEADING_ONE -> out.put(e.file(), p.reshape(rest));
                case EXPERTS -> {
                    for (int x = 0; x < shape[0]; x++) out.put(e.expert(x), p.narrow(0, x, 1).reshape(rest));
                }
            }
        }
        return out;
    }

    private static List<Map<String, Tensor>> split(Map<String, Tensor> tensors, SafetensorsDType dtype, long max) {
        List<Map<String, Tensor>> out = new ArrayList<>();
        Map<String, Tensor> current = new LinkedHashMap<>();
        long bytes = 0;
        for (Map.Entry<String, Tensor> t : tensors.entrySet()) {
            long size = (long) t.getValue().numel() * dtype.bytes();
            if (!current.isEmpty() && bytes + size > max) {
                out.add(current);
                current = new LinkedHashMap<>();
                bytes = 0;
            }
            current.put(t.getKey(), t.getValue());
            bytes += size;
        }
        out.add(current);
        return out;
    }

    private static void writeShard(Path file, Map<String, Tensor> tensors, SafetensorsDType dtype) {
        Path tmp = HfFiles.tempFor(file);
        try {
            Safetensors.write(tmp, tensors, FORMAT_PT, dtype);
            HfFiles.moveInto(tmp, file);
        } catch (IOException e) {
            HfFiles.deleteQuietly(tmp);
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            HfFiles.deleteQuietly(tmp);
            throw e;
        }
    }

    private static void removeStaleWeights(Path dir, Set<String> written) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String n = f.getFileName().toString();
                boolean weights = n.equals(HfShards.SINGLE) || n.equals(HfShards.INDEX)
                        || n.matches("model-\\d+-of-\\d+\\.safetensors");
                if (weights && !written.contains(n)) Files.delete(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clean old weights in " + dir + ": " + e.getMessage(), e);
        }
    }
}
