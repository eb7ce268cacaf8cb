package org.moe4j.infer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;
import org.moe4j.nn.Init;
import org.moe4j.common.Rng;
import org.moe4j.io.Checkpoint;
import org.moe4j.io.FileFormatException;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.io.tokenizer.TokenizerJson;
import org.moe4j.model.TransformerConfig;
import org.moe4j.model.TransformerLm;

/**
 * A moe4j language-model checkpoint, or a run directory (its latest checkpoint). The checkpoint's config.json
 * holds the {@link TransformerConfig} in its field "transformer" and the tokenizer in "tokenizer": "byte" (the
 * byte tokenizer with its default specials) or "bpe" (then tokenizer.json lies beside it); the weights are
 * model.safetensors.
 */
public final class CheckpointSource implements ModelSource {
    /** The tokenizer file of a "bpe" checkpoint. */
    public static final String TOKENIZER_FILE = "tokenizer.json";

    @Override
    public String name() {
        return "a moe4j checkpoint or run directory";
    }

    @Override
    public boolean recognizes(Path path) {
        if (!Files.isDirectory(path)) return false;
        if (Files.isRegularFile(path.resolve(Checkpoint.MODEL)) || Files.exists(path.resolve("latest"))) return true;
        try (Stream<Path> entries = Files.list(path)) {
            return entries.anyMatch(p -> p.getFileName().toString().startsWith("ckpt-") && Files.isDirectory(p));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + path + ": " + e.getMessage(), e);
        }
    }

    @Override
    public LoadedModel load(Path path) {
        Checkpoint ckpt = Checkpoint.open(path);
        Path config = ckpt.dir().resolve(Checkpoint.CONFIG);
        TransformerConfig tc = ckpt.configField("transformer", TransformerConfig.class);
        if (tc == null) {
            throw new FileFormatException(config.toString(), "config.transformer", "is missing: this checkpoint ("
                    + ckpt.configClass() + ") is not a language model");
        }
        Tokenizer tokenizer = tokenizer(ckpt, config);
        TransformerLm model;
        try (var deferred = Init.deferred()) { // the checkpoint gives every weight: no random draws
            model = new TransformerLm(tc, new Rng(0));
        }
        ckpt.loadModel(model);
        String description = String.format(Locale.ROOT, "moe4j checkpoint %s (step %d): %,d parameters, %,d active;"
                        + " vocab %d, %d layers, %d experts top-%d, context %d; tokenizer %s",
                ckpt.dir(), ckpt.state().step(), model.parameterCount(), model.activeParameterCount(), tc.vocab(),
                tc.layers(), tc.experts(), tc.topK(), tc.maxSeqLen(), tokenizer == null ? "none" : tokenizerName(tokenizer));
        return new LoadedModel(model, Optional.ofNullable(tokenizer), description);
    }

    private static Tokenizer tokenizer(Checkpoint ckpt, Path config) {
        String kind = ckpt.configField("tokenizer", String.class);
        if (kind == null) return null;
        return switch (kind) {
            case "byte" -> new ByteTokenizer();
            case "bpe" -> {
                Path file = ckpt.dir().resolve(TOKENIZER_FILE);
                if (!Files.isRegularFile(file)) {
                    throw new FileFormatException(file.toString(), "file", "is missing; a checkpoint whose config says"
                            + " tokenizer \"bpe\" keeps its tokenizer.json beside config.json");
                }
                yield TokenizerJson.read(file);
            }
            default -> throw new FileFormatException(config.toString(), "config.tokenizer", "is \"" + kind
                    + "\"; expected \"byte\" or \"bpe\"");
        };
    }

    private static String tokenizerName(Tokenizer t) {
        return (t instanceof ByteTokenizer ? "byte" : "bpe") + " (" + t.vocabSize() + " ids)";
    }
}
