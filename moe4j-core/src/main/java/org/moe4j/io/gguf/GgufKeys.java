package org.moe4j.io.gguf;

import org.moe4j.common.Moe4jException;
import org.moe4j.model.QkNorm;
import org.moe4j.model.TransformerConfig;
import org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder;
import org.moe4j.tensor.QuantFormat;

/** llama.cpp's metadata keys for the model hyperparameters, written from and read into a {@link TransformerConfig}. */
final class GgufKeys {
    static final String ARCHITECTURE = "general.architecture";
    static final String NAME = "general.name";
    static final String FILE_TYPE = "general.file_type";
    static final String QUANTIZATION_VERSION = "general.quantization_version";

    // per-architecture keys, after "<arch>."
    static final String VOCAB = "vocab_size";
    static final String CONTEXT = "context_length";
    static final String EMBEDDING = "embedding_length";
    static final String BLOCKS = "block_count";
    static final String FF = "feed_forward_length";
    static final String EXPERT_FF = "expert_feed_forward_length";
    static final String SHARED_FF = "expert_shared_feed_forward_length";
    static final String EXPERTS = "expert_count";
    static final String EXPERTS_USED = "expert_used_count";
    static final String SHARED_COUNT = "expert_shared_count";
    static final String DENSE_LEAD = "leading_dense_block_count";
    static final String WEIGHTS_SCALE = "expert_weights_scale";
    static final String HEADS = "attention.head_count";
    static final String KV_HEADS = "attention.head_count_kv";
    static final String KEY_LENGTH = "attention.key_length";
    static final String VALUE_LENGTH = "attention.value_length";
    static final String RMS_EPS = "attention.layer_norm_rms_epsilon";
    static final String ROPE_DIMS = "rope.dimension_count";
    static final String ROPE_BASE = "rope.freq_base";

    private GgufKeys() {}

    /** ggml's {@code general.file_type} of a file whose matrices are {@code type}. */
    static int fileType(QuantFormat type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("moe4j does not write " + type + " files");
        };
    }

    static void write(GgufWriter w, TransformerConfig c, GgufArchitecture arch, QuantFormat type) {
        String p = arch.ggufName() + ".";
        w.put(ARCHITECTURE, GgufValue.ofString(arch.ggufName()));
        w.put(NAME, GgufValue.ofString("moe4j " + arch.hf().className()));
        w.put(FILE_TYPE, GgufValue.ofUint32(fileType(type)));
        if (type.isBlockQuantized()) w.put(QUANTIZATION_VERSION, GgufValue.ofUint32(2));
        w.put(p + VOCAB, GgufValue.ofUint32(c.vocab()));
        w.put(p + CONTEXT, GgufValue.ofUint32(c.maxSeqLen()));
        w.put(p + EMBEDDING, GgufValue.ofUint32(c.dModel()));
        w.put(p + BLOCKS, GgufValue.ofUint32(c.layers()));
        int ff = switch (arch) {
            case LLAMA, OLMOE -> c.experts() > 0 ? c.expertHidden() : c.denseHidden();
            default -> c.denseHidden() > 0 ? c.denseHidden() : c.expertHidden();
        };
        w.put(p + FF, GgufValue.ofUint32(ff));
        w.put(p + HEADS, GgufValue.ofUint32(c.heads()));
        w.put(p + KV_HEADS, GgufValue.ofUint32(c.kvHeads()));
        w.put(p + KEY_LENGTH, GgufValue.ofUint32(c.headDim()));
        w.put(p + VALUE_LENGTH, GgufValue.ofUint32(c.headDim()));
        w.put(p + ROPE_DIMS, GgufValue.ofUint32(c.headDim()));
        w.put(p + ROPE_BASE, GgufValue.ofFloat32((float) c.ropeTheta()));
        w.put(p + RMS_EPS, GgufValue.ofFloat32((float) c.rmsEps()));
        if (c.experts() > 0) {
            w.put(p + EXPERTS, GgufValue.ofUint32(c.experts()));
            w.put(p + EXPERTS_USED, GgufValue.ofUint32(c.topK()));
        }
        switch (arch) {
            case QWEN2MOE -> {
                w.put(p + EXPERT_FF, GgufValue.ofUint32(c.expertHidden()));
                w.put(p + SHARED_FF, GgufValue.ofUint32((long) c.sharedExperts() * c.sharedHidden()));
            }
            case QWEN3MOE -> w.put(p + EXPERT_FF, GgufValue.ofUint32(c.expertHidden()));
            case DEEPSEEK -> {
                w.put(p + DENSE_LEAD, GgufValue.ofUint32(c.firstDenseLayers()));
                w.put(p + EXPERT_FF, GgufValue.ofUint32(c.expertHidden()));
                w.put(p + SHARED_COUNT, GgufValue.ofUint32((long) c.sharedExperts() * c.sharedHidden() / c.expertHidden()));
                w.put(p + WEIGHTS_SCALE, GgufValue.ofFloat32(1f));
            }
            default -> { }
        }
    }

    /** Reads the hyperparameters of one architecture, naming the key in every error. */
    static final class Reader {
        private final GgufFile f;
        private final GgufArchitecture arch;
        private final String p;

        Reader(GgufFile f, GgufArchitecture arch) {
            this.f = f;
            this.arch = arch;
            this.p = arch.ggufName() + ".";
        }

        TransformerConfig config() {
            refuseChanges();
            int d = positive(EMBEDDING);
            int layers = positive(BLOCKS);
            int heads = perLayer(HEADS, -1);
            int kvHeads = perLayer(KV_HEADS, heads);
            if (kvHeads <= 0 || heads <= 0) throw bad(kvHeads <= 0 ? KV_HEADS : HEADS, "must be positive");
            int headDim = has(KEY_LENGTH) ? positive(KEY_LENGTH) : d / heads;
            if (has(VALUE_LENGTH) && positive(VALUE_LENGTH) != headDim) {
                throw unsupported(VALUE_LENGTH, "moe4j's attention has values as wide as keys (" + headDim + ")");
            }
            if (has(ROPE_DIMS) && positive(ROPE_DIMS) != headDim) {
                throw unsupported(ROPE_DIMS, "moe4j rotates whole heads (" + headDim + " dimensions)");
            }
            double theta = has(ROPE_BASE) ? number(ROPE_BASE) : 10_000;
            double eps = number(RMS_EPS);
            int maxSeq = positive(CONTEXT);
            int vocab = vocab();
            int ff = has(FF) ? perLayer(FF, -1) : 0;
            int experts = has(EXPERTS) ? integer(EXPERTS) : 0;
            int topK = experts > 0 ? positive(EXPERTS_USED) : 0;
            if (experts == 0 && arch != GgufArchitecture.LLAMA) throw bad(EXPERTS, "is missing or 0; " + arch.ggufName() + " is a MoE architecture");
            boolean tied = !f.contains(GgufTensorNames.OUTPUT);
            QkNorm qkNorm = QkNorm.NONE;
            boolean bias = false, sharedGate = false;
            int expertHidden = 0, shared = 0, sharedHidden = 0, firstDense = 0, denseHidden = 0;
            switch (arch) {
                case LLAMA -> {
                    if (experts > 0) expertHidden = ff;
                    else denseHidden = ff;
                }
                case QWEN2MOE -> {
                    expertHidden = has(EXPERT_FF) ? positive(EXPERT_FF) : ff / topK;
                    shared = 1;
                    sharedHidden = has(SHARED_FF) ? positive(SHARED_FF) : ff;
                    sharedGate = true;
                    bias = f.contains("blk.0.attn_q.bias") || f.contains("blk.0.attn_qkv.bias"); // fused: --fuse-qkv
                }
                case QWEN3MOE -> {
                    expertHidden = has(EXPERT_FF) ? positive(EXPERT_FF) : ff / topK;
                    qkNorm = QkNorm.PER_HEAD;
                }
                case OLMOE -> {
                    expertHidden = ff;
                    qkNorm = QkNorm.FULL_WIDTH;
                }
                case DEEPSEEK -> {
                    firstDense = has(DENSE_LEAD) ? integer(DENSE_LEAD) : 0;
                    denseHidden = ff;
                    expertHidden = positive(EXPERT_FF);
                    shared = integer(SHARED_COUNT);
                    sharedHidden = shared > 0 ? expertHidden : 0;
                }
            }
            boolean normalize = experts > 0 && arch.renormalizesGates();
            try {
                return new TransformerConfig(vocab, d, layers, heads, kvHeads, headDim, theta, eps, qkNorm, bias,
                        experts, topK, expertHidden, TransformerConfig.DEFAULT_ROUTER, SoftmaxOrder.BEFORE_TOP_K,
                        normalize, shared, sharedHidden, sharedGate, firstDense, denseHidden, 1, 0.01, 0, tied, maxSeq,
                        0.02);
            } catch (Moe4jException e) {
                throw new GgufFormatException(f.source(), "metadata", arch.ggufName() + " hyperparameters do not make a"
                        + " model: " + e.getMessage(), e);
            }
        }

        /** Keys whose presence (with a value other than the neutral one) asks for computation moe4j lacks. */
        private void refuseChanges() {
            if (has("rope.scaling.type") && !f.string(p + "rope.scaling.type").equals("none")) {
                throw unsupported("rope.scaling.type", "moe4j implements plain rotary embeddings");
            }
            if (has("rope.scaling.factor") && !has("rope.scaling.type") && number("rope.scaling.factor") != 1) {
                throw unsupported("rope.scaling.factor", "moe4j implements plain rotary embeddings");
            }
            if (has("attention.sliding_window") && integer("attention.sliding_window") != 0) {
                throw unsupported("attention.sliding_window", "moe4j attends over the whole sequence");
            }
            for (String k : new String[] {"attn_logit_softcapping", "final_logit_softcapping", "attention.clamp_kqv"}) {
                if (has(k) && number(k) != 0) throw unsupported(k, "moe4j neither caps logits nor clamps q, k, v");
            }
            if (has("logit_scale") && number("logit_scale") != 1) throw unsupported("logit_scale", "moe4j does not scale logits");
            if (has("expert_gating_func") && integer("expert_gating_func") != 1) {
                throw unsupported("expert_gating_func", "moe4j's router scores experts by softmax (1)");
            }
            if (has(WEIGHTS_SCALE) && number(WEIGHTS_SCALE) != 0 && number(WEIGHTS_SCALE) != 1) {
                throw unsupported(WEIGHTS_SCALE, "moe4j does not scale expert gates");
            }
            if (has("expert_group_count") && integer("expert_group_count") > 1) {
                throw unsupported("expert_group_count", "moe4j's router does not limit experts by group");
            }
            if (has("moe_every_n_layers") && integer("moe_every_n_layers") > 1) {
                throw unsupported("moe_every_n_layers", "llama.cpp's " + arch.ggufName() + " has no interleaved dense layers");
            }
        }

        private int vocab() {
            if (has(VOCAB)) return positive(VOCAB);
            if (f.contains(GgufTensorNames.TOKEN_EMBD)) {
                long[] s = f.info(GgufTensorNames.TOKEN_EMBD).shape();
                if (s.length == 2 && s[0] > 0 && s[0] <= Integer.MAX_VALUE) return (int) s[0];
            }
            throw new GgufFormatException(f.source(), "metadata '" + p + VOCAB + "'", "is missing, and there is no 2-D "
                    + GgufTensorNames.TOKEN_EMBD + " to take the vocabulary size from");
        }

        private boolean has(String key) {
            return f.value(p + key) != null;
        }

        private int integer(String key) {
            long v = f.integer(p + key);
            if (v < 0 || v > Integer.MAX_VALUE) throw bad(key, v + " is outside [0, 2^31-1]");
            return (int) v;
        }

        private int positive(String key) {
            int v = integer(key);
            if (v == 0) throw bad(key, "must be positive");
            return v;
        }

        /** A value llama.cpp allows per layer (an array): moe4j needs one value for all layers. */
        private int perLayer(String key, int fallback) {
            GgufValue v = f.value(p + key);
            if (v == null) {
                if (fallback >= 0) return fallback;
                return positive(key); // the error says it is missing
            }
            if (v.type() != GgufValueType.ARRAY) return integer(key);
            GgufArray a = v.asArray();
            if (!a.elementType().isInteger() || a.length() == 0) throw bad(key, "is not a list of integers");
            long[] values = a.longs();
            for (long x : values) {
                if (x != values[0]) throw unsupported(key, "moe4j's layers all have the same size");
            }
            if (values[0] < 0 || values[0] > Integer.MAX_VALUE) throw bad(key, values[0] + " is outside [0, 2^31-1]");
            return (int) values[0];
        }

        /** A float (FLOAT32 read as its shortest decimal, so 1e-6 stays 1e-6) or any number. */
        private double number(String key) {
            GgufValue v = f.value(p + key);
            if (v == null) throw bad(key, "is missing");
            if (v.type() == GgufValueType.FLOAT32) return Double.parseDouble(Float.toString((Float) v.value()));
            if (v.type() == GgufValueType.FLOAT64 || v.type().isInteger()) return v.asDouble();
            throw bad(key, "is a " + v.type() + ", not a number");
        }

        private GgufFormatException bad(String key, String problem) {
            return new GgufFormatException(f.source(), "metadata '" + p + key + "'", problem);
        }

        private GgufFormatException unsupported(String key, String why) {
            return new GgufFormatException(f.source(), "metadata '" + p + key + "'", f.value(p + key)
                    + " is not supported: " + why);
        }
    }
}
