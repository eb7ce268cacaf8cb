package org.moe4j.io.hf;

import java.util.Optional;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.model.TransformerLm;

/**
 * A model loaded from a Hugging Face directory, with its architecture and, when the directory's tokenizer.json
 * is one moe4j reads, its tokenizer.
 *
 * @param tokenizerNote why there is no tokenizer (absent, or the reader's error), or "" when there is one
 */
public record HfModel(TransformerLm model, HfArchitecture architecture, Optional<Tokenizer> tokenizer,
        String tokenizerNote) {}
