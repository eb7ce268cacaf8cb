package org.moe4j.infer;

import java.util.Optional;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.model.TransformerLm;

/**
 * A language model ready for inference, with its tokenizer when the source has one.
 *
 * @param description one line for people: the source, what kind, its size
 */
public record LoadedModel(TransformerLm model, Optional<Tokenizer> tokenizer, String description) {
    public LoadedModel {
        if (model == null || tokenizer == null || description == null) {
            throw new IllegalArgumentException("loaded model: model, tokenizer (maybe empty) and description are required");
        }
    }
}
