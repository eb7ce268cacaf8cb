package org.moe4j.serve;

import java.util.Optional;
import org.moe4j.common.Rng;
import org.moe4j.infer.LoadedModel;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.model.TransformerConfig;
import org.moe4j.model.TransformerLm;

/** Random-weight models for tests and the load benchmark: no checkpoint needed. */
public final class TinyModels {
    private TinyModels() {}

    /** The tiny preset (2 layers, 4 experts top-2, byte vocabulary) with context {@code maxSeqLen}, random weights. */
    public static LoadedModel tiny(int maxSeqLen, long seed) {
        TransformerConfig c = TransformerConfig.tiny().withMaxSeqLen(maxSeqLen);
        return new LoadedModel(new TransformerLm(c, new Rng(seed)), Optional.of(new ByteTokenizer()),
                "random tiny model (seed " + seed + ", context " + maxSeqLen + ")");
    }
}
