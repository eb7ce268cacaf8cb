package org.moe4j.infer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.moe4j.common.Moe4jException;

/** Loads a language model for inference from whichever {@link ModelSource} recognises the path. */
public final class ModelLoader {
    /** The sources asked, in order. */
    public static final List<ModelSource> SOURCES = List.of(new HfSource(), new CheckpointSource(), new GgufSource());

    private ModelLoader() {}

    /**
     * The model at {@code path}: a Hugging Face model directory, a moe4j LM checkpoint directory, a run directory
     * (its latest checkpoint) or a GGUF file.
     */
    public static LoadedModel load(Path path) {
        if (!Files.exists(path)) throw new Moe4jException("model: " + path + " does not exist");
        for (ModelSource source : SOURCES) {
            if (source.recognizes(path)) return source.load(path);
        }
        throw new Moe4jException("model: " + path + " is not a model this version reads; expected "
                + String.join(" or ", SOURCES.stream().map(ModelSource::name).toList())
                + " (a directory with config.json and model.safetensors or its shard index, a .gguf file, or a run directory with a"
                + " 'latest' pointer or ckpt-N directories)");
    }
}
