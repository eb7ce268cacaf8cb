package org.moe4j.infer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.moe4j.io.gguf.GgufModel;
import org.moe4j.io.tokenizer.Tokenizer;

/**
 * A GGUF model file of one of llama.cpp's MoE architectures ({@link org.moe4j.io.gguf.GgufArchitecture}), with
 * the tokenizer in its metadata when moe4j reads it (byte-level BPE, or a SentencePiece vocabulary with scores);
 * otherwise the model runs from token ids.
 */
public final class GgufSource implements ModelSource {
    @Override
    public String name() {
        return "a GGUF file";
    }

    @Override
    public boolean recognizes(Path path) {
        return Files.isRegularFile(path) && path.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gguf");
    }

    @Override
    public LoadedModel load(Path path) {
        GgufModel.Loaded g = GgufModel.loadForInference(path);
        Optional<Tokenizer> tokenizer = g.tokenizer().map(t -> t);
        String note = tokenizer.isPresent() ? "" : " (no tokenizer: " + g.tokenizerNote() + ")";
        return new LoadedModel(g.model(), tokenizer, "GGUF " + g.architecture().ggufName() + " from " + path + ", "
                + g.model().parameterCount() + " parameters" + quantizedNote(g)
                + (g.decodedNote().isEmpty() ? "" : " (" + g.decodedNote() + ")") + note);
    }

    private static String quantizedNote(GgufModel.Loaded g) {
        var q = g.model().namedQuantized();
        if (q.isEmpty()) return "";
        // a K-quant file mixes formats (Q4_K_M: Q4_K, Q6_K and fallbacks): count each
        java.util.Map<org.moe4j.tensor.QuantFormat, Integer> counts = new java.util.TreeMap<>();
        q.values().forEach(w -> counts.merge(w.format(), 1, Integer::sum));
        java.util.List<String> parts = new java.util.ArrayList<>();
        counts.forEach((format, n) -> parts.add(n + " " + format));
        return " (" + q.size() + " matrices held " + String.join(", ", parts) + ", "
                + g.model().weightBytes() / (1 << 20) + " MiB of weights)";
    }
}
