package org.moe4j.io.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.FileFormatException;
import org.moe4j.model.QkNorm;
import org.moe4j.model.TransformerConfig;

/** config.json of each architecture to TransformerConfig and back, and the values moe4j refuses. */
class HfConfigTest {
    private static final List<String> MODEL_KEYS = List.of("architectures", "model_type", "vocab_size", "hidden_size",
            "intermediate_size", "moe_intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "head_dim", "rope_theta", "rms_norm_eps", "num_local_experts", "num_experts",
            "n_routed_experts", "num_experts_per_tok", "norm_topk_prob", "shared_expert_intermediate_size",
            "n_shared_experts", "first_k_dense_replace", "moe_layer_freq", "decoder_sparse_step", "mlp_only_layers",
            "tie_word_embeddings", "max_position_embeddings", "scoring_func", "router_aux_loss_coef", "aux_loss_alpha");

    private static ObjectNode fixture(String arch) {
        return (ObjectNode) HfFiles.readJson(HfFixtures.dir(arch).resolve("config.json"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "deepseek"})
    void writtenConfigReadsBackAndKeepsTheModelKeys(String arch) {
        ObjectNode original = fixture(arch);
        HfConfig c = HfConfig.fromJson(original, arch);
        ObjectNode written = HfConfig.toJson(c.transformer(), c.architecture(), "float32");
        assertEquals(c, HfConfig.fromJson(written, "written"));
        for (String key : MODEL_KEYS) {
            if (!original.has(key)) continue;
            assertTrue(written.has(key), arch + ": " + key + " written");
            JsonNode a = original.get(key), b = written.get(key);
            boolean same = a.isNumber() && b.isNumber() ? a.doubleValue() == b.doubleValue() : a.equals(b);
            assertTrue(same, arch + ": " + key + " " + a + " written as " + b);
        }
        assertEquals(c.architecture(), HfArchitecture.infer(c.transformer()), arch + ": inferred architecture");
    }

    @Test
    void architectureFeaturesAreRead() {
        TransformerConfig qwen3 = HfConfig.fromJson(fixture("qwen3_moe"), "q3").transformer();
        assertEquals(QkNorm.PER_HEAD, qwen3.qkNorm());
        assertEquals(8, qwen3.headDim());
        assertEquals(2, qwen3.moeEvery());
        assertTrue(qwen3.tiedEmbeddings() && qwen3.normTopKProb());
        TransformerConfig qwen2 = HfConfig.fromJson(fixture("qwen2_moe"), "q2").transformer();
        assertTrue(qwen2.attentionBias() && qwen2.sharedGate());
        assertEquals(1, qwen2.firstDenseLayers());
        assertEquals(12, qwen2.sharedExperts() * qwen2.sharedHidden());
        TransformerConfig ds = HfConfig.fromJson(fixture("deepseek"), "ds").transformer();
        assertEquals(2, ds.sharedExperts());
        assertEquals(6, ds.sharedHidden());
        assertEquals(1, ds.firstDenseLayers());
        assertEquals(QkNorm.FULL_WIDTH, HfConfig.fromJson(fixture("olmoe"), "o").transformer().qkNorm());
        // DeepSeek's gate renormalises only for k > 1.
        ObjectNode k1 = fixture("deepseek").put("num_experts_per_tok", 1).put("norm_topk_prob", true);
        assertEquals(false, HfConfig.fromJson(k1, "k1").transformer().normTopKProb());
    }

    private static void assertRefused(ObjectNode config, String... inMessage) {
        FileFormatException e = assertThrows(FileFormatException.class, () -> HfConfig.fromJson(config, "cfg.json"));
        assertTrue(e.getMessage().startsWith("cfg.json: "), e.getMessage());
        for (String s : inMessage) assertTrue(e.getMessage().contains(s), "'" + s + "' in: " + e.getMessage());
    }

    @Test
    void unknownOrMismatchedArchitecturesAreRefused() {
        ObjectNode llama = fixture("mixtral").put("model_type", "llama");
        llama.putArray("architectures").add("LlamaForCausalLM");
        assertRefused(llama, "architectures", "LlamaForCausalLM", "MixtralForCausalLM");
        assertRefused(fixture("olmoe").putNull("architectures"), "architectures");
        ObjectNode two = fixture("olmoe");
        two.putArray("architectures").add("OlmoeForCausalLM").add("MixtralForCausalLM");
        assertRefused(two, "architectures");
        assertRefused(fixture("olmoe").put("model_type", "mixtral"), "model_type", "olmoe");
    }

    @Test
    void unsupportedValuesNameTheKeyAndValue() {
        assertRefused(fixture("mixtral").put("sliding_window", 16), "sliding_window", "16");
        assertRefused(fixture("mixtral").put("router_jitter_noise", 0.1), "router_jitter_noise");
        assertRefused(fixture("qwen2_moe").put("use_sliding_window", true), "use_sliding_window");
        assertRefused(fixture("qwen3_moe").put("hidden_act", "gelu"), "hidden_act", "gelu");
        ObjectNode scaled = fixture("qwen3_moe");
        scaled.putObject("rope_scaling").put("type", "yarn").put("factor", 4.0);
        assertRefused(scaled, "rope_scaling", "yarn");
        ObjectNode ropeParams = fixture("olmoe");
        ropeParams.putObject("rope_parameters").put("rope_type", "llama3");
        assertRefused(ropeParams, "rope_type", "llama3");
        assertRefused(fixture("deepseek").put("scoring_func", "sigmoid"), "scoring_func", "sigmoid");
        assertRefused(fixture("deepseek").put("moe_layer_freq", 2), "moe_layer_freq");
        assertRefused(fixture("olmoe").put("clip_qkv", 8.0), "clip_qkv");
        assertRefused(fixture("olmoe").put("attention_bias", true), "attention_bias", "o_proj");
        ObjectNode gap = fixture("qwen3_moe");
        gap.putArray("mlp_only_layers").add(1);
        assertRefused(gap, "mlp_only_layers");
        assertRefused(fixture("deepseek").put("head_dim", 8), "head_dim");
    }

    @Test
    void missingOrMistypedKeysAreRefused() {
        ObjectNode missing = fixture("qwen2_moe");
        missing.remove("hidden_size");
        assertRefused(missing, "hidden_size", "missing");
        assertRefused(fixture("mixtral").put("hidden_size", "16"), "hidden_size", "integer");
        assertRefused(fixture("mixtral").put("vocab_size", 1L << 40), "vocab_size", "32-bit");
        assertRefused(fixture("olmoe").put("norm_topk_prob", "yes"), "norm_topk_prob");
        ObjectNode noExperts = fixture("deepseek");
        noExperts.remove("n_routed_experts");
        assertRefused(noExperts, "n_routed_experts", "missing");
        // A value TransformerConfig rejects comes back as a file error too.
        assertRefused(fixture("mixtral").put("num_experts_per_tok", 9), "topK");
    }

    @Test
    void anArchitectureThatCannotExpressTheModelIsRefusedOnWrite() {
        TransformerConfig qwen3 = HfConfig.fromJson(fixture("qwen3_moe"), "q3").transformer();
        Moe4jException e = assertThrows(Moe4jException.class,
                () -> HfConfig.toJson(qwen3, HfArchitecture.MIXTRAL, "float32"));
        assertTrue(e.getMessage().contains("MixtralForCausalLM") && e.getMessage().contains("qkNorm"), e.getMessage());
        TransformerConfig ds = HfConfig.fromJson(fixture("deepseek"), "ds").transformer();
        e = assertThrows(Moe4jException.class, () -> HfConfig.toJson(ds, HfArchitecture.OLMOE, "float32"));
        assertTrue(e.getMessage().contains("OlmoeForCausalLM"), e.getMessage());
        TransformerConfig dense = TransformerConfig.tiny().asDense(64);
        assertThrows(Moe4jException.class, () -> HfConfig.toJson(dense, HfArchitecture.infer(dense), "float32"));
    }

    /** Seeded mutations of real configs: every outcome is a config or a Moe4jException, never anything else. */
    @Test
    void mutatedConfigsGiveAConfigOrACleanError() {
        org.moe4j.common.Rng rng = new org.moe4j.common.Rng(6);
        JsonNode[] values = {HfFiles.MAPPER.nullNode(), HfFiles.MAPPER.getNodeFactory().numberNode(-1),
                HfFiles.MAPPER.getNodeFactory().numberNode(0), HfFiles.MAPPER.getNodeFactory().numberNode(1L << 33),
                HfFiles.MAPPER.getNodeFactory().numberNode(Integer.MAX_VALUE),
                HfFiles.MAPPER.getNodeFactory().numberNode(1e308), HfFiles.MAPPER.getNodeFactory().numberNode(0.5),
                HfFiles.MAPPER.getNodeFactory().textNode("x"), HfFiles.MAPPER.createArrayNode(),
                HfFiles.MAPPER.createObjectNode(), HfFiles.MAPPER.getNodeFactory().booleanNode(true)};
        int accepted = 0;
        for (int i = 0; i < 2000; i++) {
            ObjectNode c = fixture(HfFixtures.ARCHS[rng.nextInt(HfFixtures.ARCHS.length)]);
            List<String> keys = new java.util.ArrayList<>();
            c.fieldNames().forEachRemaining(keys::add);
            for (int m = 0; m < 1 + rng.nextInt(3); m++) {
                String key = keys.get(rng.nextInt(keys.size()));
                if (rng.nextInt(4) == 0) c.remove(key);
                else c.set(key, values[rng.nextInt(values.length)]);
            }
            try {
                HfConfig.fromJson(c, "fuzz");
                accepted++;
            } catch (Moe4jException expected) {
                // the clean error
            }
        }
        assertTrue(accepted > 0 && accepted < 2000, "accepted " + accepted);
    }
}
