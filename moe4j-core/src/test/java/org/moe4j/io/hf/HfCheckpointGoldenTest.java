package org.moe4j.io.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Variable;
import org.moe4j.io.Safetensors;
import org.moe4j.io.SafetensorsDType;
import org.moe4j.io.SafetensorsFile;
import org.moe4j.model.KvCache;
import org.moe4j.model.TransformerLm;
import org.moe4j.moe.RoutingContext;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/**
 * Each MoE architecture's checkpoint, made with random weights by tools/golden/make_hf_fixtures.py, against the
 * logits and greedy tokens of that architecture's forward pass written in PyTorch after transformers' modeling
 * code; then save and reload.
 */
class HfCheckpointGoldenTest {
    private static final Map<String, HfArchitecture> ARCH = Map.of("mixtral", HfArchitecture.MIXTRAL,
            "qwen2_moe", HfArchitecture.QWEN2_MOE, "qwen3_moe", HfArchitecture.QWEN3_MOE, "olmoe", HfArchitecture.OLMOE,
            "deepseek", HfArchitecture.DEEPSEEK);

    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "deepseek"})
    void logitsAndGreedyTokensMatchTheReference(String arch) {
        Path dir = HfFixtures.dir(arch);
        HfModel loaded = HfCheckpoint.load(dir);
        assertEquals(ARCH.get(arch), loaded.architecture());
        assertTrue(loaded.tokenizer().isEmpty());
        assertTrue(loaded.tokenizerNote().contains("tokenizer.json"), loaded.tokenizerNote());
        try (SafetensorsFile expected = SafetensorsFile.open(dir.resolve("expected.safetensors"))) {
            int[] prompt = ids(expected.metadata().get("prompt"));
            int[] greedy = ids(expected.metadata().get("greedy"));
            Tensor want = expected.tensor("logits");
            TransformerLm model = loaded.model();
            try (GradMode off = GradMode.off()) {
                Tensor logits = model.forward(new IntTensor(prompt, new int[] {1, prompt.length}),
                        RoutingContext.inference("golden")).logits().value();
                TestData.assertClose(want, logits, 1e-5, 1e-4);
            }
            assertArrayEquals(greedy, greedy(model, prompt, greedy.length), arch + ": greedy tokens");
        }
    }

    /** Greedy continuation through the KV cache: the prompt at once, then one token per step. */
    static int[] greedy(TransformerLm model, int[] prompt, int n) {
        KvCache cache = model.newCache();
        Tensor last = model.forwardIncremental(IntTensor.of(prompt), cache).logits().value();
        int[] out = new int[n];
        for (int s = 0; s < n; s++) {
            out[s] = argmaxLast(last);
            last = model.forwardIncremental(IntTensor.of(out[s]), cache).logits().value();
        }
        return out;
    }

    private static int argmaxLast(Tensor logits) {
        int v = logits.dim(-1);
        float[] a = logits.toFloatArray();
        int base = a.length - v, best = 0;
        for (int j = 1; j < v; j++) if (a[base + j] > a[base + best]) best = j;
        return best;
    }

    private static int[] ids(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "deepseek"})
    void f32SaveAndReloadIsBitExact(String arch, @TempDir Path tmp) {
        HfModel a = HfCheckpoint.load(HfFixtures.dir(arch));
        HfCheckpoint.save(a.model(), a.architecture(), tmp, SafetensorsDType.F32);
        HfModel b = HfCheckpoint.load(tmp);
        assertEquals(a.architecture(), b.architecture());
        assertEquals(a.model().config(), b.model().config());
        assertSameWeights(a.model(), b.model(), 0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "deepseek"})
    void bf16SaveAndReloadIsWithinBf16Precision(String arch, @TempDir Path tmp) {
        HfModel a = HfCheckpoint.load(HfFixtures.dir(arch));
        HfCheckpoint.save(a.model(), a.architecture(), tmp, SafetensorsDType.BF16);
        try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve("model.safetensors"))) {
            assertTrue(f.entries().stream().allMatch(e -> e.dtype() == SafetensorsDType.BF16));
        }
        HfModel b = HfCheckpoint.load(tmp);
        assertEquals("bfloat16", HfFiles.readJson(tmp.resolve("config.json")).get("torch_dtype").asText());
        assertSameWeights(a.model(), b.model(), 0x1p-8); // bf16 keeps 7 fraction bits: rounding errs by at most 2^-8 relative
        // Values already representable in bf16 (the BF16 fixture) survive a BF16 save exactly.
        HfModel c = HfCheckpoint.load(HfFixtures.dir("qwen2_moe"));
        HfCheckpoint.save(c.model(), c.architecture(), tmp.resolve("again"), SafetensorsDType.BF16);
        assertSameWeights(c.model(), HfCheckpoint.load(tmp.resolve("again")).model(), 0);
    }

    private static void assertSameWeights(TransformerLm a, TransformerLm b, double relative) {
        Map<String, Variable> pa = a.namedParameters(), pb = b.namedParameters();
        assertEquals(pa.keySet(), pb.keySet());
        for (String name : pa.keySet()) {
            float[] x = pa.get(name).value().toFloatArray(), y = pb.get(name).value().toFloatArray();
            assertEquals(x.length, y.length, name);
            for (int i = 0; i < x.length; i++) {
                if (relative == 0) {
                    assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]), name + "[" + i + "]");
                } else {
                    assertTrue(Math.abs(x[i] - y[i]) <= relative * Math.abs(x[i]), name + "[" + i + "]: " + x[i] + " vs " + y[i]);
                }
            }
        }
        // The bf16 case must really have rounded something, or the bound proves nothing.
        if (relative > 0) assertFalse(Arrays.equals(pa.get("embedding.weight").value().toFloatArray(),
                pb.get("embedding.weight").value().toFloatArray()));
    }

    @Test
    void shardedSaveWritesAnIndexAndReloads(@TempDir Path tmp) throws IOException {
        HfModel a = HfCheckpoint.load(HfFixtures.dir("deepseek"));
        HfCheckpoint.save(a.model(), a.architecture(), tmp, SafetensorsDType.F32, null, 8 * 1024);
        JsonNode index = HfFiles.readJson(tmp.resolve("model.safetensors.index.json"));
        long shards = index.get("weight_map").properties().stream().map(e -> e.getValue().asText()).distinct().count();
        assertTrue(shards > 2, "shards: " + shards);
        assertFalse(Files.exists(tmp.resolve("model.safetensors")));
        assertSameWeights(a.model(), HfCheckpoint.load(tmp).model(), 0);
        // Saving into the same directory as one file removes the shards and index of the earlier save.
        HfCheckpoint.save(a.model(), a.architecture(), tmp, SafetensorsDType.F32);
        try (var files = Files.list(tmp)) {
            assertEquals(java.util.List.of("config.json", "model.safetensors"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertSameWeights(a.model(), HfCheckpoint.load(tmp).model(), 0);
    }

    @Test
    void savedTensorNamesAreTheFixtureNames(@TempDir Path tmp) {
        for (String arch : HfFixtures.ARCHS) {
            Path dir = HfFixtures.dir(arch);
            HfModel a = HfCheckpoint.load(dir);
            Path out = tmp.resolve(arch);
            HfCheckpoint.save(a.model(), a.architecture(), out, SafetensorsDType.F32);
            java.util.Set<String> original = new java.util.TreeSet<>();
            try (HfShards s = HfShards.open(dir)) {
                original.addAll(s.names());
            }
            assertEquals(original, new java.util.TreeSet<>(Safetensors.read(out.resolve("model.safetensors")).keySet()), arch);
        }
    }

    @Test
    void aReadableTokenizerJsonIsLoadedAndABadOneIsExplained(@TempDir Path tmp) throws IOException {
        Path dir = HfFixtures.copy("olmoe", tmp);
        Files.copy(Path.of(HfFixtures.class.getResource("/tokenizer/qwen_style.tokenizer.json").getPath()),
                dir.resolve("tokenizer.json"));
        HfModel m = HfCheckpoint.load(dir);
        assertTrue(m.tokenizer().isPresent());
        assertEquals("", m.tokenizerNote());
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Unigram\"}}");
        HfModel n = HfCheckpoint.load(dir);
        assertTrue(n.tokenizer().isEmpty());
        assertTrue(n.tokenizerNote().contains("tokenizer.json"), n.tokenizerNote());
    }
}
