package org.moe4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.model.TransformerLm;
import org.moe4j.tensor.QuantFormat;

/**
 * Untrusted model files whose GGUF layout is valid but whose metadata and tensors disagree with each other or with
 * what moe4j computes: each is one clean {@link GgufFormatException} naming the key or tensor, never a wrong model.
 */
class GgufModelBadFileTest {
    static byte[] valid; // a deepseek model: leading dense layer, shared experts, tokenizer

    @BeforeAll
    static void write() {
        TransformerLm m = new TransformerLm(GgufModelTest.config(GgufArchitecture.DEEPSEEK), new org.moe4j.common.Rng(2));
        GgufWriter w = new GgufWriter();
        GgufModel.fill(w, m, GgufArchitecture.DEEPSEEK, new ByteTokenizer(), QuantFormat.Q8_0, GgufModel.Progress.NONE);
        valid = w.toBytes();
    }

    /** The valid file with metadata changed by {@code meta} and only the tensors {@code keep} accepts (plus extras). */
    static byte[] variant(Consumer<Map<String, GgufValue>> meta, Predicate<String> keep, Consumer<GgufWriter> extra) {
        GgufFile f = GgufFile.parse(valid, "valid");
        Map<String, GgufValue> m = new LinkedHashMap<>(f.metadata());
        meta.accept(m);
        GgufWriter w = new GgufWriter();
        m.forEach(w::put);
        for (GgufTensorInfo t : f.tensors()) {
            if (keep.test(t.name())) w.raw(t.name(), t.type(), t.shape(), f.segment(t.name()));
        }
        extra.accept(w);
        return w.toBytes();
    }

    static void assertRefused(byte[] bytes, String... contains) {
        GgufFormatException e = assertThrows(GgufFormatException.class,
                () -> GgufModel.load(GgufFile.parse(bytes, "crafted.gguf")));
        assertTrue(e.getMessage().contains("crafted.gguf"), e.getMessage());
        for (String c : contains) assertTrue(e.getMessage().contains(c), "'" + c + "' not in: " + e.getMessage());
    }

    static byte[] meta(Consumer<Map<String, GgufValue>> change) {
        return variant(change, n -> true, w -> { });
    }

    @Test
    void theValidFileLoads() {
        GgufModel.load(GgufFile.parse(valid, "valid"));
    }

    @Test
    void shapesAgreeOnlyUpToOuterAxesOfSizeOne() {
        // as llama.cpp's loader: ggml pads every shape to 4 dims with 1s, so [1, 64] is [64] and [1, 4, 64] is [4, 64]
        assertTrue(GgufModel.sameIgnoringOuterOnes(new long[] {1, 64}, new int[] {64}));
        assertTrue(GgufModel.sameIgnoringOuterOnes(new long[] {64}, new int[] {1, 64}));
        assertTrue(GgufModel.sameIgnoringOuterOnes(new long[] {1, 1, 4, 64}, new int[] {4, 64}));
        assertTrue(GgufModel.sameIgnoringOuterOnes(new long[] {1}, new int[] {1}));
        assertFalse(GgufModel.sameIgnoringOuterOnes(new long[] {2, 64}, new int[] {64}));
        assertFalse(GgufModel.sameIgnoringOuterOnes(new long[] {64, 1}, new int[] {64}));
        assertFalse(GgufModel.sameIgnoringOuterOnes(new long[] {4, 64}, new int[] {64, 4}));
        // a 2-D router (one expert row too many) is still refused by name
        assertRefused(variant(m -> { }, n -> !n.equals("blk.1.ffn_gate_inp.weight"),
                w -> w.add("blk.1.ffn_gate_inp.weight", org.moe4j.tensor.Tensor.zeros(2, 5, 64), QuantFormat.F32)),
                "blk.1.ffn_gate_inp.weight", "[2, 5, 64]");
    }

    @Test
    void expertCountThatDisagreesWithTheStackedTensors() {
        assertRefused(meta(m -> m.put("deepseek.expert_count", GgufValue.ofUint32(8))), "blk.1.ffn_gate_inp.weight",
                "[4, 64]", "[8, 64]");
    }

    @Test
    void expertWidthThatDisagrees() {
        assertRefused(meta(m -> m.put("deepseek.expert_feed_forward_length", GgufValue.ofUint32(64))), "ffn_gate_exps");
    }

    @Test
    void missingTensor() {
        assertRefused(variant(m -> { }, n -> !n.equals("blk.2.ffn_down_shexp.weight"), w -> { }),
                "blk.2.ffn_down_shexp.weight", "is missing");
    }

    @Test
    void extraTensor() {
        assertRefused(variant(m -> { }, n -> true, w -> w.raw("blk.7.attn_q.weight", GgmlType.F32, new long[] {2, 2},
                MemorySegment.ofArray(new byte[16]))), "blk.7.attn_q.weight", "not a weight");
    }

    @Test
    void moreBlocksThanTensors() {
        assertRefused(meta(m -> m.put("deepseek.block_count", GgufValue.ofUint32(4))), "blk.3.", "is missing");
    }

    @Test
    void fewerBlocksThanTensors() {
        assertRefused(meta(m -> m.put("deepseek.block_count", GgufValue.ofUint32(2))), "blk.2.", "unused");
    }

    @Test
    void leadingDenseLayersThatDisagree() {
        assertRefused(meta(m -> m.put("deepseek.leading_dense_block_count", GgufValue.ofUint32(2))), "blk.1.ffn_gate.weight");
    }

    @Test
    void unknownArchitecture() {
        assertRefused(meta(m -> m.put("general.architecture", GgufValue.ofString("gpt9"))), "general.architecture",
                "gpt9", "qwen2moe");
    }

    @Test
    void ropeScalingIsNotSilentlyIgnored() {
        assertRefused(meta(m -> m.put("deepseek.rope.scaling.type", GgufValue.ofString("yarn"))), "rope.scaling.type");
    }

    @Test
    void sigmoidGatingIsRefused() {
        assertRefused(meta(m -> m.put("deepseek.expert_gating_func", GgufValue.ofUint32(2))), "expert_gating_func");
    }

    @Test
    void expertWeightsScaleIsRefused() {
        assertRefused(meta(m -> m.put("deepseek.expert_weights_scale", GgufValue.ofFloat32(2.5f))), "expert_weights_scale");
    }

    @Test
    void moreExpertsUsedThanThereAre() {
        assertRefused(meta(m -> m.put("deepseek.expert_used_count", GgufValue.ofUint32(9))), "topK");
    }

    @Test
    void missingRequiredKey() {
        assertRefused(meta(m -> m.remove("deepseek.attention.layer_norm_rms_epsilon")), "layer_norm_rms_epsilon", "missing");
    }

    @Test
    void headCountThatDisagreesWithTheProjections() {
        assertRefused(meta(m -> m.put("deepseek.attention.head_count", GgufValue.ofUint32(2))), "attn_q.weight");
    }

    @Test
    void partialRotaryIsRefused() {
        assertRefused(meta(m -> m.put("deepseek.rope.dimension_count", GgufValue.ofUint32(8))), "rope.dimension_count");
    }

    @Test
    void perLayerSizesThatDiffer() {
        assertRefused(meta(m -> m.put("deepseek.feed_forward_length",
                GgufValue.ofArray(GgufArray.ofInts(160, 96, 96)))), "feed_forward_length", "same size");
    }

    @Test
    void hugeCountIsAnErrorNotAnAllocation() {
        assertRefused(meta(m -> m.put("deepseek.block_count", GgufValue.ofUint32(0xffffffffL))), "block_count");
    }

    @Test
    void wrongKeyType() {
        assertRefused(meta(m -> m.put("deepseek.embedding_length", GgufValue.ofString("64"))), "embedding_length");
    }

    @Test
    void tokenIdOutOfRange() {
        assertRefused(meta(m -> m.put("tokenizer.ggml.eos_token_id", GgufValue.ofUint32(100_000))), "eos_token_id");
    }

    @Test
    void tokenTypesOfAnotherLength() {
        assertRefused(meta(m -> m.put("tokenizer.ggml.token_type", GgufValue.ofArray(GgufArray.ofInts(1, 1)))),
                "token_type");
    }
}
