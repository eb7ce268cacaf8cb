package org.moe4j.io.hf;

import java.util.ArrayList;
import java.util.List;
import org.moe4j.model.TransformerBlock;
import org.moe4j.model.TransformerLm;

/**
 * Which Hugging Face tensor holds which moe4j parameter, for one model and architecture. A routed-expert
 * parameter [experts, ...] is one file tensor per expert (the name's {@code {e}}); the shared experts
 * [1, hidden, dim] are one file tensor without the leading 1.
 */
final class HfTensorNames {
    enum Kind {
        /** the same shape on both sides */
        PLAIN,
        /** expert e of the stacked parameter is file tensor {@code name.replace("{e}", e)} */
        EXPERTS,
        /** the parameter has a leading axis of 1 the file tensor lacks */
        LEADING_ONE
    }

    /** One parameter and its file tensor(s). */
    record Entry(String parameter, String file, Kind kind) {
        String expert(int e) {
            return file.replace("{e}", Integer.toString(e));
        }
    }

    private HfTensorNames() {}

    static final String EMBED = "model.embed_tokens.weight";
    static final String LM_HEAD = "lm_head.weight";

    /** Every parameter of {@code model} in file order (embedding, layers, final norm, head). */
    static List<Entry> of(TransformerLm model, HfArchitecture arch) {
        List<Entry> out = new ArrayList<>();
        out.add(new Entry("embedding.weight", EMBED, Kind.PLAIN));
        for (int i = 0; i < model.blocks().size(); i++) {
            TransformerBlock b = model.blocks().get(i);
            String m = "layers." + i + ".", h = "model.layers." + i + ".";
            out.add(new Entry(m + "attentionNorm.weight", h + "input_layernorm.weight", Kind.PLAIN));
            for (String p : new String[] {"q", "k", "v", "o"}) {
                out.add(new Entry(m + "attention." + p + ".weight", h + "self_attn." + p + "_proj.weight", Kind.PLAIN));
                if (b.attention().q().bias() != null && !p.equals("o")) {
                    out.add(new Entry(m + "attention." + p + ".bias", h + "self_attn." + p + "_proj.bias", Kind.PLAIN));
                }
            }
            if (b.attention().qNorm() != null) {
                out.add(new Entry(m + "attention.qNorm.weight", h + "self_attn.q_norm.weight", Kind.PLAIN));
                out.add(new Entry(m + "attention.kNorm.weight", h + "self_attn.k_norm.weight", Kind.PLAIN));
            }
            out.add(new Entry(m + "ffnNorm.weight", h + "post_attention_layernorm.weight", Kind.PLAIN));
            if (b.moe() == null) {
                for (String p : new String[] {"gate", "up", "down"}) {
                    out.add(new Entry(m + "mlp." + p + ".weight", h + "mlp." + p + "_proj.weight", Kind.PLAIN));
                }
                continue;
            }
            if (arch == HfArchitecture.MIXTRAL) {
                String moe = h + "block_sparse_moe.";
                out.add(new Entry(m + "mlp.router.weight", moe + "gate.weight", Kind.PLAIN));
                out.add(new Entry(m + "mlp.experts.gate", moe + "experts.{e}.w1.weight", Kind.EXPERTS));
                out.add(new Entry(m + "mlp.experts.down", moe + "experts.{e}.w2.weight", Kind.EXPERTS));
                out.add(new Entry(m + "mlp.experts.up", moe + "experts.{e}.w3.weight", Kind.EXPERTS));
            } else {
                out.add(new Entry(m + "mlp.router.weight", h + "mlp.gate.weight", Kind.PLAIN));
                for (String p : new String[] {"gate", "up", "down"}) {
                    out.add(new Entry(m + "mlp.experts." + p, h + "mlp.experts.{e}." + p + "_proj.weight", Kind.EXPERTS));
                }
            }
            if (b.moe().shared() != null) {
                String shared = h + (arch == HfArchitecture.DEEPSEEK ? "mlp.shared_experts." : "mlp.shared_expert.");
                for (String p : new String[] {"gate", "up", "down"}) {
                    out.add(new Entry(m + "mlp.shared." + p, shared + p + "_proj.weight", Kind.LEADING_ONE));
                }
                if (model.config().sharedGate()) {
                    out.add(new Entry(m + "mlp.sharedGate", h + "mlp.shared_expert_gate.weight", Kind.PLAIN));
                }
            }
        }
        out.add(new Entry("norm.weight", "model.norm.weight", Kind.PLAIN));
        if (model.head() != null) out.add(new Entry("head.weight", LM_HEAD, Kind.PLAIN));
        return out;
    }
}
