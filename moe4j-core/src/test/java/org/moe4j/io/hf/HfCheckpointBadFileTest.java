package org.moe4j.io.hf;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.io.FileFormatException;
import org.moe4j.io.Safetensors;
import org.moe4j.io.SafetensorsDType;
import org.moe4j.tensor.Tensor;

/** Model directories with wrong, missing, extra or misplaced weights: each is one clear FileFormatException. */
class HfCheckpointBadFileTest {
    @TempDir
    Path tmp;

    private static void assertRefused(Path dir, String... inMessage) {
        FileFormatException e = assertThrows(FileFormatException.class, () -> HfCheckpoint.load(dir));
        for (String s : inMessage) assertTrue(e.getMessage().contains(s), "'" + s + "' in: " + e.getMessage());
    }

    /** The fixture with its single weight file rewritten by {@code edit}. */
    private Path withWeights(String arch, Consumer<Map<String, Tensor>> edit) {
        Path dir = HfFixtures.copy(arch, tmp);
        Path file = dir.resolve("model.safetensors");
        Map<String, Tensor> w = new LinkedHashMap<>(Safetensors.read(file));
        edit.accept(w);
        Safetensors.write(file, w, Map.of("format", "pt"), SafetensorsDType.F32);
        return dir;
    }

    private Path withConfig(String arch, Consumer<ObjectNode> edit) {
        Path dir = HfFixtures.copy(arch, tmp);
        ObjectNode c = (ObjectNode) HfFiles.readJson(dir.resolve("config.json"));
        edit.accept(c);
        HfFiles.writeJson(dir.resolve("config.json"), c);
        return dir;
    }

    @Test
    void aMissingExpertIsNamed() {
        String name = "model.layers.1.block_sparse_moe.experts.3.w2.weight";
        assertRefused(withWeights("mixtral", w -> w.remove(name)), name, "missing");
    }

    @Test
    void anExtraTensorIsNamed() {
        assertRefused(withWeights("olmoe", w -> w.put("model.layers.0.mlp.experts.6.up_proj.weight",
                Tensor.zeros(8, 16))), "model.layers.0.mlp.experts.6.up_proj.weight", "not a weight");
    }

    @Test
    void aWrongShapeIsNamedWithBothShapes() {
        assertRefused(withWeights("deepseek", w -> w.put("model.layers.0.mlp.up_proj.weight", Tensor.zeros(23, 16))),
                "model.layers.0.mlp.up_proj.weight", "[23, 16]", "[24, 16]");
    }

    @Test
    void aConfigThatDisagreesWithTheWeightsIsCaught() {
        assertRefused(withConfig("qwen3_moe", c -> c.put("moe_intermediate_size", 10)), "shape");
        assertRefused(withConfig("olmoe", c -> c.put("num_experts", 5)), "mlp.gate.weight", "[6, 16]", "[5, 16]");
        // Tied embeddings with a different lm_head: the head would be silently dropped.
        assertRefused(withConfig("mixtral", c -> c.put("tie_word_embeddings", true)), "lm_head", "tie_word_embeddings");
    }

    @Test
    void qwen2MoeWithoutTheSharedExpertGateIsRefused() {
        assertRefused(withWeightsSharded(w -> w.remove("model.layers.1.mlp.shared_expert_gate.weight")),
                "shared_expert_gate", "missing");
    }

    /** The sharded BF16 fixture merged into one file, edited. */
    private Path withWeightsSharded(Consumer<Map<String, Tensor>> edit) {
        Path dir = HfFixtures.copy("qwen2_moe", tmp);
        Map<String, Tensor> w = new LinkedHashMap<>();
        try (HfShards s = HfShards.open(dir)) {
            for (String n : s.names()) w.put(n, s.file(n).tensor(n));
        }
        edit.accept(w);
        try {
            Files.delete(dir.resolve("model.safetensors.index.json"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Safetensors.write(dir.resolve("model.safetensors"), w, Map.of(), SafetensorsDType.BF16);
        return dir;
    }

    @Test
    void anIntegerTensorIsRefused() {
        Path dir = withWeights("mixtral", w -> {});
        // Rewrite one tensor's dtype in the header: F32 [16] is 64 bytes, as is I32 [16].
        Path file = dir.resolve("model.safetensors");
        rewriteHeader(file, "\"model.norm.weight\":{\"dtype\":\"F32\"", "\"model.norm.weight\":{\"dtype\":\"I32\"");
        assertRefused(dir, "model.norm.weight", "I32");
    }

    private static void rewriteHeader(Path file, String from, String to) {
        try {
            byte[] b = Files.readAllBytes(file);
            String s = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
            assertTrue(s.contains(from), "header holds " + from);
            Files.write(file, s.replace(from, to).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void noWeightFilesIsExplained() throws IOException {
        Path dir = HfFixtures.copy("olmoe", tmp);
        Files.delete(dir.resolve("model.safetensors"));
        assertRefused(dir, "model.safetensors", "neither");
    }

    @Test
    void aMissingConfigIsNamed() throws IOException {
        Path dir = HfFixtures.copy("olmoe", tmp);
        Files.delete(dir.resolve("config.json"));
        assertRefused(dir, "config.json", "does not exist");
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"OlmoeForCausalLM\"],");
        assertRefused(dir, "config.json", "JSON");
    }

    private Path withIndex(Consumer<ObjectNode> edit) {
        Path dir = HfFixtures.copy("qwen2_moe", tmp);
        Path index = dir.resolve("model.safetensors.index.json");
        ObjectNode root = (ObjectNode) HfFiles.readJson(index);
        edit.accept((ObjectNode) root.get("weight_map"));
        HfFiles.writeJson(index, root);
        return dir;
    }

    @Test
    void anIndexPointingOutsideTheDirectoryIsRefused() {
        assertRefused(withIndex(m -> m.put("model.norm.weight", "../model-00002-of-00002.safetensors")),
                "model.norm.weight", "plain");
        assertRefused(withIndex(m -> m.put("model.norm.weight", "/etc/passwd")), "plain");
    }

    @Test
    void anIndexThatDisagreesWithTheShardsIsRefused() {
        assertRefused(withIndex(m -> m.put("model.norm.weight", "model-00001-of-00002.safetensors")),
                "model.norm.weight", "has no such tensor");
        assertRefused(withIndex(m -> m.remove("model.norm.weight")), "model.norm.weight", "not listed");
        assertRefused(withIndex(m -> m.put("model.norm.weight", "model-00009-of-00009.safetensors")), "does not exist");
        assertRefused(withIndex(m -> m.put("model.norm.weight", 3)), "not a file name");
    }

    @Test
    void aTruncatedShardIsRefused() throws IOException {
        Path dir = HfFixtures.copy("qwen2_moe", tmp);
        Path shard = dir.resolve("model-00002-of-00002.safetensors");
        byte[] b = Files.readAllBytes(shard);
        Files.write(shard, java.util.Arrays.copyOf(b, b.length - 10));
        assertRefused(dir, "model-00002-of-00002.safetensors");
    }
}
