package org.moe4j.infer;

import java.nio.file.Path;

/**
 * One kind of place a language model can be loaded from (a moe4j checkpoint; later a Hugging Face directory or a
 * GGUF file). {@link ModelLoader} asks each source in turn whether it recognises a path.
 */
public interface ModelSource {
    /** A short name for messages, e.g. "moe4j checkpoint". */
    String name();

    /** Whether {@code path} looks like this source's kind (cheap: file names, not contents). */
    boolean recognizes(Path path);

    /** Loads the model at {@code path}; a missing or malformed file raises an error naming it. */
    LoadedModel load(Path path);
}
