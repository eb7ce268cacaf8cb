package org.moe4j.io.gguf;

import org.moe4j.model.KvCache;
import org.moe4j.model.TransformerLm;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/** Greedy decoding with the KV cache, as llama.cpp's logits dumper does it: argmax, lowest id on ties. */
final class GgufGreedy {
    private GgufGreedy() {}

    static int[] greedy(TransformerLm model, int[] prompt, int n) {
        KvCache cache = model.newCache();
        Tensor logits = model.forwardIncremental(new IntTensor(prompt, new int[] {prompt.length}), cache).logits().value();
        int[] out = new int[n];
        for (int t = 0; t < n; t++) {
            out[t] = argmaxLast(logits);
            if (t + 1 < n) logits = model.forwardIncremental(new IntTensor(new int[] {out[t]}, new int[] {1}), cache).logits().value();
        }
        return out;
    }

    private static int argmaxLast(Tensor logits) {
        int[] s = logits.shape();
        int vocab = s[s.length - 1];
        float[] all = logits.contiguous().toFloatArray();
        int base = all.length - vocab, best = 0;
        for (int j = 1; j < vocab; j++) if (all[base + j] > all[base + best]) best = j;
        return best;
    }
}
