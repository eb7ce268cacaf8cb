package org.moe4j.io.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.FileFormatException;
import org.moe4j.model.QkNorm;
import org.moe4j.model.TransformerConfig;
import org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder;

/**
 * A Hugging Face {@code config.json} of one of the {@link HfArchitecture}s, as a moe4j {@link TransformerConfig}.
 * Reading follows each architecture's configuration class (its keys and defaults); a value that changes the
 * computation in a way moe4j does not implement (sliding windows, rope scaling, another activation or scoring
 * function, o_proj biases, ...) is a {@link FileFormatException} naming the key and the value, never ignored.
 * Keys that do not affect the model (token ids, {@code use_cache}, versions) are not read.
 */
public record HfConfig(HfArchitecture architecture, TransformerConfig transformer) {

    /** Reads and checks {@code config.json}. */
    public static HfConfig read(Path file) {
        return fromJson(HfFiles.readJson(file), file.toString());
    }

    /** Reads config.json text; {@code source} names it in errors. */
    public static HfConfig parse(String json, String source) {
        return fromJson(HfFiles.parseJson(json.getBytes(java.nio.charset.StandardCharsets.UTF_8), source), source);
    }

    /** The configuration in a parsed config.json. */
    public static HfConfig fromJson(JsonNode root, String source) {
        return new Reader(root, source).read();
    }

    /** Writes config.json for {@code arch} (see {@link #toJson}). */
    public static void write(Path file, TransformerConfig c, HfArchitecture arch, String torchDtype) {
        HfFiles.writeJson(file, toJson(c, arch, torchDtype));
    }

    /**
     * config.json for {@code arch}, with every key its configuration class reads. A config that {@code arch}
     * cannot express (say, qk-norm for Mixtral) is a {@link Moe4jException} naming the feature.
     */
    public static ObjectNode toJson(TransformerConfig c, HfArchitecture arch, String torchDtype) {
        checkExpressible(c, arch);
        ObjectNode o = HfFiles.MAPPER.createObjectNode();
        o.putArray("architectures").add(arch.className());
        o.put("model_type", arch.modelType());
        o.put("vocab_size", c.vocab());
        o.put("hidden_size", c.dModel());
        o.put("num_hidden_layers", c.layers());
        o.put("num_attention_heads", c.heads());
        o.put("num_key_value_heads", c.kvHeads());
        if (arch == HfArchitecture.MIXTRAL || arch == HfArchitecture.QWEN3_MOE) o.put("head_dim", c.headDim());
        o.put("hidden_act", "silu");
        o.put("max_position_embeddings", c.maxSeqLen());
        o.put("initializer_range", c.initStd());
        o.put("rms_norm_eps", c.rmsEps());
        o.put("rope_theta", c.ropeTheta());
        o.putNull("rope_scaling");
        o.put("attention_dropout", 0.0);
        o.put("tie_word_embeddings", c.tiedEmbeddings());
        o.put("use_cache", true);
        o.put("torch_dtype", torchDtype);
        o.put("num_experts_per_tok", c.topK());
        switch (arch) {
            case MIXTRAL -> {
                o.put("intermediate_size", c.expertHidden());
                o.put("num_local_experts", c.experts());
                o.putNull("sliding_window");
                o.put("router_aux_loss_coef", c.balanceLossWeight());
                o.put("router_jitter_noise", 0.0);
            }
            case QWEN2_MOE, QWEN3_MOE -> {
                o.put("intermediate_size", c.denseHidden());
                o.put("moe_intermediate_size", c.expertHidden());
                o.put("num_experts", c.experts());
                o.put("norm_topk_prob", c.normTopKProb());
                o.put("decoder_sparse_step", c.moeEvery());
                ArrayNode dense = o.putArray("mlp_only_layers");
                for (int i = 0; i < c.firstDenseLayers(); i++) dense.add(i);
                o.put("use_sliding_window", false);
                o.putNull("sliding_window");
                o.put("max_window_layers", c.layers());
                o.put("router_aux_loss_coef", c.balanceLossWeight());
                if (arch == HfArchitecture.QWEN2_MOE) {
                    o.put("shared_expert_intermediate_size", c.sharedExperts() * c.sharedHidden());
                    o.put("qkv_bias", c.attentionBias());
                } else {
                    o.put("attention_bias", false);
                }
            }
            case OLMOE -> {
                o.put("intermediate_size", c.expertHidden());
                o.put("num_experts", c.experts());
                o.put("norm_topk_prob", c.normTopKProb());
                o.put("attention_bias", false);
                o.putNull("clip_qkv");
                o.put("router_aux_loss_coef", c.balanceLossWeight());
            }
            case DEEPSEEK -> {
                o.put("intermediate_size", c.denseHidden());
                o.put("moe_intermediate_size", c.expertHidden());
                o.put("n_routed_experts", c.experts());
                if (c.sharedExperts() > 0) {
                    o.put("n_shared_experts", c.sharedExperts() * c.sharedHidden() / c.expertHidden());
                } else {
                    o.putNull("n_shared_experts");
                }
                o.put("first_k_dense_replace", c.firstDenseLayers());
                o.put("moe_layer_freq", 1);
                o.put("norm_topk_prob", c.normTopKProb());
                o.put("scoring_func", "softmax");
                o.put("aux_loss_alpha", c.balanceLossWeight());
                o.put("seq_aux", true);
                o.put("attention_bias", false);
                o.put("pretraining_tp", 1);
                ObjectNode autoMap = o.putObject("auto_map"); // the modeling code ships with DeepSeek's checkpoints
                autoMap.put("AutoConfig", "configuration_deepseek.DeepseekConfig");
                autoMap.put("AutoModel", "modeling_deepseek.DeepseekModel");
                autoMap.put("AutoModelForCausalLM", "modeling_deepseek.DeepseekForCausalLM");
            }
        }
        return o;
    }

    private static void checkExpressible(TransformerConfig c, HfArchitecture arch) {
        String a = arch.className();
        if (c.experts() == 0) refuse(a, "a dense model (experts = 0)");
        if (!c.router().equals(TransformerConfig.DEFAULT_ROUTER)) refuse(a, "router '" + c.router() + "'");
        QkNorm norm = switch (arch) {
            case QWEN3_MOE -> QkNorm.PER_HEAD;
            case OLMOE -> QkNorm.FULL_WIDTH;
            default -> QkNorm.NONE;
        };
        if (c.qkNorm() != norm) refuse(a, "qkNorm " + c.qkNorm() + " (it has " + norm + ")");
        if (c.attentionBias() && arch != HfArchitecture.QWEN2_MOE) {
            refuse(a, "q/k/v biases without an o_proj bias (only Qwen2-MoE has those)");
        }
        boolean headsSplitHidden = c.headDim() * c.heads() == c.dModel();
        if (!headsSplitHidden && arch != HfArchitecture.MIXTRAL && arch != HfArchitecture.QWEN3_MOE) {
            refuse(a, "headDim " + c.headDim() + " != dModel / heads (" + c.dModel() + " / " + c.heads() + ")");
        }
        if (arch == HfArchitecture.MIXTRAL) {
            if (c.routerSoftmax() == SoftmaxOrder.BEFORE_TOP_K && !c.normTopKProb()) {
                refuse(a, "gates that are not renormalised (Mixtral's sum to 1 over the chosen experts)");
            }
        } else if (c.routerSoftmax() != SoftmaxOrder.BEFORE_TOP_K) {
            refuse(a, "a softmax after the top-k (only Mixtral routes that way)");
        }
        if (arch == HfArchitecture.DEEPSEEK && c.normTopKProb() && c.topK() == 1) {
            refuse(a, "normTopKProb with topK 1 (DeepSeek renormalises only for k > 1)");
        }
        boolean everyLayerMoe = c.firstDenseLayers() == 0 && c.moeEvery() == 1;
        if ((arch == HfArchitecture.MIXTRAL || arch == HfArchitecture.OLMOE) && !everyLayerMoe) {
            refuse(a, "dense layers (firstDenseLayers " + c.firstDenseLayers() + ", moeEvery " + c.moeEvery() + ")");
        }
        if (arch == HfArchitecture.DEEPSEEK && c.moeEvery() != 1) refuse(a, "moeEvery " + c.moeEvery());
        switch (arch) {
            case QWEN2_MOE -> {
                if (c.sharedExperts() == 0 || !c.sharedGate()) refuse(a, "MoE layers without a sigmoid-gated shared expert");
            }
            case DEEPSEEK -> {
                if (c.sharedGate()) refuse(a, "a gate on the shared experts");
                if (c.sharedExperts() > 0 && (long) c.sharedExperts() * c.sharedHidden() % c.expertHidden() != 0) {
                    refuse(a, "shared experts of total width " + c.sharedExperts() * c.sharedHidden()
                            + ", not a multiple of the expert width " + c.expertHidden());
                }
            }
            default -> {
                if (c.sharedExperts() > 0) refuse(a, "shared experts");
            }
        }
    }

    private static void refuse(String arch, String feature) {
        throw new Moe4jException("config.json for " + arch + ": the architecture has no " + feature
                + "; choose another architecture (HfArchitecture.infer suggests one) or change the model");
    }

    /** Reads one config.json, naming the file and key in every error. */
    private static final class Reader {
        private final JsonNode root;
        private final String source;

        Reader(JsonNode root, String source) {
            this.root = root;
            this.source = source;
        }

        HfConfig read() {
            HfArchitecture arch = architecture();
            int vocab = positive("vocab_size");
            int d = positive("hidden_size");
            int layers = positive("num_hidden_layers");
            int heads = positive("num_attention_heads");
            int kvHeads = present("num_key_value_heads") ? positive("num_key_value_heads") : heads;
            int headDim = headDim(arch, d, heads);
            if (!"silu".equals(string("hidden_act", "silu"))) {
                throw unsupported("hidden_act", "moe4j's SwiGLU experts use silu");
            }
            double ropeTheta = rope(arch == HfArchitecture.MIXTRAL ? 1e6 : 10_000);
            double rmsEps = number("rms_norm_eps", arch == HfArchitecture.MIXTRAL || arch == HfArchitecture.OLMOE
                    ? 1e-5 : 1e-6);
            if (number("attention_dropout", 0) != 0) throw unsupported("attention_dropout", "moe4j has no attention dropout");
            int maxSeq = integer("max_position_embeddings", switch (arch) {
                case MIXTRAL -> 4096 * 32;
                case QWEN2_MOE, QWEN3_MOE -> 32768;
                case OLMOE -> 4096;
                case DEEPSEEK -> 2048;
            });
            double initStd = number("initializer_range", 0.02);
            boolean tied = bool("tie_word_embeddings", false);
            int topK = integer("num_experts_per_tok", switch (arch) {
                case MIXTRAL, QWEN3_MOE -> 2;
                case QWEN2_MOE -> 4;
                case OLMOE -> 8;
                case DEEPSEEK -> -1; // required
            });

            QkNorm qkNorm = QkNorm.NONE;
            boolean bias = false;
            int experts, expertHidden, shared = 0, sharedHidden = 0, firstDense = 0, every = 1, denseHidden = 0;
            boolean sharedGate = false, normalize;
            double balance;
            switch (arch) {
                case MIXTRAL -> {
                    experts = integer("num_local_experts", 8);
                    expertHidden = integer("intermediate_size", 14336);
                    normalize = true; // softmax over all, top-k, renormalised: softmax over the chosen k
                    balance = number("router_aux_loss_coef", 0.001);
                    if (present("sliding_window") && integer("sliding_window") < maxSeq) {
                        throw unsupported("sliding_window", "moe4j attends over the whole sequence; use a window of"
                                + " at least max_position_embeddings (" + maxSeq + ") or null");
                    }
                    if (number("router_jitter_noise", 0) != 0) {
                        throw unsupported("router_jitter_noise", "moe4j's top-k router has no jitter; set it to 0");
                    }
                }
                case QWEN2_MOE, QWEN3_MOE -> {
                    experts = integer("num_experts", 60);
                    expertHidden = integer("moe_intermediate_size");
                    denseHidden = integer("intermediate_size", 0);
                    normalize = bool("norm_topk_prob", false);
                    balance = number("router_aux_loss_coef", 0.001);
                    every = integer("decoder_sparse_step", 1);
                    firstDense = denseLayerPrefix();
                    if (bool("use_sliding_window", false)) {
                        throw unsupported("use_sliding_window", "moe4j attends over the whole sequence");
                    }
                    if (arch == HfArchitecture.QWEN2_MOE) {
                        bias = bool("qkv_bias", true);
                        shared = 1;
                        sharedHidden = integer("shared_expert_intermediate_size");
                        sharedGate = true;
                    } else {
                        qkNorm = QkNorm.PER_HEAD;
                    }
                }
                case OLMOE -> {
                    experts = integer("num_experts", 64);
                    expertHidden = integer("intermediate_size", 2048);
                    normalize = bool("norm_topk_prob", false);
                    balance = number("router_aux_loss_coef", 0.01);
                    qkNorm = QkNorm.FULL_WIDTH;
                    if (present("clip_qkv")) throw unsupported("clip_qkv", "moe4j does not clip q, k and v; use null");
                }
                case DEEPSEEK -> {
                    experts = integer("n_routed_experts");
                    expertHidden = integer("moe_intermediate_size", 1407);
                    denseHidden = integer("intermediate_size", 11008);
                    firstDense = integer("first_k_dense_replace", 0);
                    if (integer("moe_layer_freq", 1) != 1) {
                        throw unsupported("moe_layer_freq", "moe4j reads DeepSeekMoE with every layer after"
                                + " first_k_dense_replace an MoE layer (moe_layer_freq 1)");
                    }
                    if (present("n_shared_experts")) {
                        shared = integer("n_shared_experts");
                        sharedHidden = shared > 0 ? expertHidden : 0;
                    }
                    if (!"softmax".equals(string("scoring_func", "softmax"))) {
                        throw unsupported("scoring_func", "DeepSeekMoE v1 scores experts by softmax");
                    }
                    if (integer("pretraining_tp", 1) != 1) throw unsupported("pretraining_tp", "use 1");
                    // DeepseekMoE's gate renormalises only when it picks more than one expert.
                    normalize = bool("norm_topk_prob", false) && topK > 1;
                    balance = number("aux_loss_alpha", 0.001);
                }
                default -> throw new IllegalStateException(arch.toString());
            }
            if (arch != HfArchitecture.QWEN2_MOE && arch != HfArchitecture.MIXTRAL && bool("attention_bias", false)) {
                throw unsupported("attention_bias", "moe4j's attention has q/k/v biases but no o_proj bias");
            }
            try {
                return new HfConfig(arch, new TransformerConfig(vocab, d, layers, heads, kvHeads, headDim, ropeTheta,
                        rmsEps, qkNorm, bias, experts, topK, expertHidden, TransformerConfig.DEFAULT_ROUTER,
                        SoftmaxOrder.BEFORE_TOP_K, normalize, shared, sharedHidden, sharedGate, firstDense, denseHidden,
                        every, balance, 0, tied, maxSeq, initStd));
            } catch (FileFormatException e) {
                throw e;
            } catch (Moe4jException e) {
                throw new FileFormatException(source, "config", e.getMessage(), e);
            }
        }

        private HfArchitecture architecture() {
            JsonNode list = root.get("architectures");
            if (list == null || !list.isArray() || list.size() != 1 || !list.get(0).isTextual()) {
                throw new FileFormatException(source, "architectures", "must be a list of one class name, got " + list
                        + "; moe4j reads " + HfArchitecture.known());
            }
            String name = list.get(0).textValue();
            HfArchitecture arch = HfArchitecture.byClassName(name);
            if (arch == null) {
                throw new FileFormatException(source, "architectures", "'" + name + "' is not an architecture moe4j"
                        + " reads; it reads " + HfArchitecture.known());
            }
            JsonNode type = root.get("model_type");
            if (type != null && !type.isNull() && !arch.modelType().equals(type.asText())) {
                throw new FileFormatException(source, "model_type", "'" + type.asText() + "' does not belong to " + name
                        + " (expected '" + arch.modelType() + "')");
            }
            return arch;
        }

        private int headDim(HfArchitecture arch, int d, int heads) {
            boolean free = arch == HfArchitecture.MIXTRAL || arch == HfArchitecture.QWEN3_MOE
                    || arch == HfArchitecture.QWEN2_MOE;
            if (free && present("head_dim")) return integer("head_dim");
            if (d % heads != 0) {
                throw new FileFormatException(source, "num_attention_heads", heads + " does not divide hidden_size " + d);
            }
            if (present("head_dim") && integer("head_dim") != d / heads) {
                throw unsupported("head_dim", arch.className() + " uses hidden_size / num_attention_heads = " + d / heads);
            }
            return d / heads;
        }

        /** rope_theta, from the top level or transformers' newer rope_parameters; any scaling is refused. */
        private double rope(double fallback) {
            if (present("rope_scaling")) throw unsupported("rope_scaling", "moe4j implements plain rotary embeddings");
            JsonNode params = root.get("rope_parameters");
            if (params != null && !params.isNull()) {
                if (!params.isObject()) throw new FileFormatException(source, "rope_parameters", "is not an object");
                JsonNode type = params.get("rope_type");
                if (type != null && !type.isNull() && !"default".equals(type.asText())) {
                    throw new FileFormatException(source, "rope_parameters.rope_type", "'" + type.asText() + "' is not"
                            + " supported: moe4j implements plain rotary embeddings (rope_type 'default')");
                }
                JsonNode theta = params.get("rope_theta");
                if (theta != null && !theta.isNull()) {
                    if (!theta.isNumber()) throw new FileFormatException(source, "rope_parameters.rope_theta", "is not a number");
                    return theta.doubleValue();
                }
            }
            return number("rope_theta", fallback);
        }

        /** mlp_only_layers as moe4j's leading dense layers: it must be 0, 1, ..., k-1. */
        private int denseLayerPrefix() {
            JsonNode list = root.get("mlp_only_layers");
            if (list == null || list.isNull()) return 0;
            if (!list.isArray()) throw new FileFormatException(source, "mlp_only_layers", "is not a list of layer indices");
            for (int i = 0; i < list.size(); i++) {
                if (!list.get(i).isInt() || list.get(i).intValue() != i) {
                    throw unsupported("mlp_only_layers", "moe4j's dense layers are the leading ones, so the list must"
                            + " be 0, 1, ..., k-1");
                }
            }
            return list.size();
        }

        private boolean present(String key) {
            JsonNode v = root.get(key);
            return v != null && !v.isNull();
        }

        private JsonNode required(String key) {
            if (!present(key)) throw new FileFormatException(source, key, "is missing");
            return root.get(key);
        }

        private int integer(String key) {
            JsonNode v = required(key);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new FileFormatException(source, key, v + " is not an integer in the 32-bit range");
            }
            return v.intValue();
        }

        private int positive(String key) {
            int v = integer(key);
            if (v <= 0) throw new FileFormatException(source, key, v + " must be positive");
            return v;
        }

        private int integer(String key, int fallback) {
            if (!present(key)) {
                if (fallback < 0) return integer(key); // no default: the error says it is missing
                return fallback;
            }
            return integer(key);
        }

        private double number(String key, double fallback) {
            if (!present(key)) return fallback;
            JsonNode v = root.get(key);
            if (!v.isNumber()) throw new FileFormatException(source, key, v + " is not a number");
            return v.doubleValue();
        }

        private boolean bool(String key, boolean fallback) {
            if (!present(key)) return fallback;
            JsonNode v = root.get(key);
            if (!v.isBoolean()) throw new FileFormatException(source, key, v + " is not true or false");
            return v.booleanValue();
        }

        private String string(String key, String fallback) {
            if (!present(key)) return fallback;
            JsonNode v = root.get(key);
            if (!v.isTextual()) throw new FileFormatException(source, key, v + " is not a string");
            return v.textValue();
        }

        private FileFormatException unsupported(String key, String why) {
            return new FileFormatException(source, key, root.get(key) + " is not supported: " + why);
        }
    }
}
