package org.moe4j.infer;

import java.nio.file.Files;
import java.nio.file.Path;
import org.moe4j.io.Checkpoint;
import org.moe4j.io.hf.HfCheckpoint;
import org.moe4j.io.hf.HfModel;

/**
 * A Hugging Face model directory of one of the MoE architectures ({@link org.moe4j.io.hf.HfArchitecture}):
 * config.json with the weights in model.safetensors or shards listed in model.safetensors.index.json, and
 * tokenizer.json when there is one. A moe4j checkpoint also has config.json and model.safetensors; it is told
 * apart by its provenance.json.
 */
public final class HfSource implements ModelSource {
    @Override
    public String name() {
        return "a Hugging Face model directory";
    }

    @Override
    public boolean recognizes(Path path) {
        return Files.isDirectory(path) && Files.isRegularFile(path.resolve(HfCheckpoint.CONFIG))
                && !Files.exists(path.resolve(Checkpoint.PROVENANCE))
                && (Files.isRegularFile(path.resolve("model.safetensors"))
                        || Files.isRegularFile(path.resolve("model.safetensors.index.json")));
    }

    @Override
    public LoadedModel load(Path path) {
        HfModel hf = HfCheckpoint.load(path);
        String tokenizer = hf.tokenizer().isPresent() ? "" : " (no tokenizer: " + hf.tokenizerNote() + ")";
        return new LoadedModel(hf.model(), hf.tokenizer(), hf.architecture().className() + " from " + path + ", "
                + hf.model().parameterCount() + " parameters" + tokenizer);
    }
}
