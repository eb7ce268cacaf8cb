package org.moe4j.io.gguf;

import java.util.ArrayList;
import java.util.List;
import org.moe4j.model.TransformerBlock;
import org.moe4j.model.TransformerLm;

/**
 * Which GGUF tensor (llama.cpp's names) holds which moe4j parameter. Routed experts are stacked in both:
 * {@code [experts, rows, cols]} is ggml's {@code {cols, rows, experts}}; the shared experts {@code [1, hidden, dim]}
 * and the shared-expert gate {@code [1, dim]} drop the leading 1.
 */
final class GgufTensorNames {
    enum Kind {
        /** the same shape on both sides */
        PLAIN,
        /** the parameter has a leading axis of 1 the file tensor lacks */
        LEADING_ONE,
        /** the query projection (weight or bias), rows permuted per head in interleaved-rope architectures */
        ROPE_Q,
        /** the key projection, likewise over the key/value heads */
        ROPE_K
    }

    /**
     * One parameter and its file tensor.
     *
     * @param keepF32 stored as F32 whatever the file type: norms, biases and routers, as llama.cpp's converter does
     */
    record Entry(String parameter, String file, Kind kind, boolean keepF32) {}

    static final String TOKEN_EMBD = "token_embd.weight";
    static final String OUTPUT = "output.weight";

    private GgufTensorNames() {}

    /** Every parameter of {@code model} in file order (embedding, layers, final norm, head). */
    static List<Entry> of(TransformerLm model) {
        List<Entry> out = new ArrayList<>();
        out.add(new Entry("embedding.weight", TOKEN_EMBD, Kind.PLAIN, false));
        for (int i = 0; i < model.blocks().size(); i++) {
            TransformerBlock b = model.blocks().get(i);
            String m = "layers." + i + ".", g = "blk." + i + ".";
            out.add(new Entry(m + "attentionNorm.weight", g + "attn_norm.weight", Kind.PLAIN, true));
            String[][] attn = {{"q", "attn_q"}, {"k", "attn_k"}, {"v", "attn_v"}, {"o", "attn_output"}};
            for (String[] p : attn) {
                Kind kind = p[0].equals("q") ? Kind.ROPE_Q : p[0].equals("k") ? Kind.ROPE_K : Kind.PLAIN;
                out.add(new Entry(m + "attention." + p[0] + ".weight", g + p[1] + ".weight", kind, false));
                if (b.attention().q().bias() != null && !p[0].equals("o")) {
                    out.add(new Entry(m + "attention." + p[0] + ".bias", g + p[1] + ".bias", kind, true));
                }
            }
            if (b.attention().qNorm() != null) {
                out.add(new Entry(m + "attention.qNorm.weight", g + "attn_q_norm.weight", Kind.PLAIN, true));
                out.add(new Entry(m + "attention.kNorm.weight", g + "attn_k_norm.weight", Kind.PLAIN, true));
            }
            out.add(new Entry(m + "ffnNorm.weight", g + "ffn_norm.weight", Kind.PLAIN, true));
            if (b.moe() == null) {
                for (String p : new String[] {"gate", "up", "down"}) {
                    out.add(new Entry(m + "mlp." + p + ".weight", g + "ffn_" + p + ".weight", Kind.PLAIN, false));
                }
                continue;
            }
            out.add(new Entry(m + "mlp.router.weight", g + "ffn_gate_inp.weight", Kind.PLAIN, true));
            for (String p : new String[] {"gate", "up", "down"}) {
                out.add(new Entry(m + "mlp.experts." + p, g + "ffn_" + p + "_exps.weight", Kind.PLAIN, false));
            }
            if (b.moe().shared() != null) {
                if (model.config().sharedGate()) {
                    out.add(new Entry(m + "mlp.sharedGate", g + "ffn_gate_inp_shexp.weight", Kind.LEADING_ONE, true));
                }
                for (String p : new String[] {"gate", "up", "down"}) {
                    out.add(new Entry(m + "mlp.shared." + p, g + "ffn_" + p + "_shexp.weight", Kind.LEADING_ONE, false));
                }
            }
        }
        out.add(new Entry("norm.weight", "output_norm.weight", Kind.PLAIN, true));
        if (model.head() != null) out.add(new Entry("head.weight", OUTPUT, Kind.PLAIN, false));
        return out;
    }
}
