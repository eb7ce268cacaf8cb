package org.moe4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.io.SafetensorsFile;
import org.moe4j.moe.RoutingContext;
import org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder;
import org.moe4j.optim.AdamW;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/**
 * The transformer against the same architecture written in plain PyTorch ({@code tools/golden/make_lm_fixtures.py}):
 * weights loaded by their Hugging Face-like names, then the logits of a prompt batch, the greedy continuation
 * decoded through the KV cache, and the losses of ten AdamW steps.
 */
class TransformerGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A fixture: the model with the file's weights, and the file for the expectations. */
    private record Fixture(TransformerLm model, SafetensorsFile file, JsonNode config) {}

    private static Fixture load(String name) throws IOException {
        String resource = "/golden/lm-" + name + ".safetensors";
        byte[] bytes;
        try (InputStream in = TransformerGoldenTest.class.getResourceAsStream(resource)) {
            assertTrue(in != null, "test resource " + resource + " is missing");
            bytes = in.readAllBytes();
        }
        SafetensorsFile file = SafetensorsFile.parse(bytes, resource);
        JsonNode c = JSON.readTree(file.metadata().get("config"));
        TransformerConfig config = new TransformerConfig(c.get("vocab").asInt(), c.get("d_model").asInt(),
                c.get("layers").asInt(), c.get("heads").asInt(), c.get("kv_heads").asInt(), c.get("head_dim").asInt(),
                c.get("rope_theta").asDouble(), c.get("rms_eps").asDouble(), QkNorm.valueOf(c.get("qk_norm").asText()),
                c.get("attention_bias").asBoolean(), c.get("experts").asInt(), c.get("top_k").asInt(),
                c.get("expert_hidden").asInt(), "topk", SoftmaxOrder.valueOf(c.get("router_softmax").asText()),
                c.get("norm_topk_prob").asBoolean(), c.get("shared_experts").asInt(), c.get("shared_hidden").asInt(),
                c.get("shared_gate").asBoolean(), c.get("first_dense_layers").asInt(), c.get("dense_hidden").asInt(),
                c.get("moe_every").asInt(), c.get("balance_loss_weight").asDouble(), 0,
                c.get("tied_embeddings").asBoolean(), c.get("max_seq_len").asInt(), 0.02);
        TransformerLm model = new TransformerLm(config, new Rng(0));
        loadWeights(model, file);
        return new Fixture(model, file, c);
    }

    /**
     * Copies each Hugging Face-named weight into its moe4j parameter (experts stacked), and checks that every
     * parameter was filled and every weight in the file used, so a weight the model ignored cannot pass.
     */
    private static void loadWeights(TransformerLm model, SafetensorsFile file) {
        Map<String, Variable> params = model.namedParameters();
        Set<String> filled = new HashSet<>();
        Set<String> used = new HashSet<>();
        for (Map.Entry<String, String> e : hfNames(model).entrySet()) {
            Variable p = params.get(e.getKey());
            assertTrue(p != null, "no parameter " + e.getKey());
            Tensor value = stacked(file, e.getValue(), used);
            assertArrayEquals(p.shape(), value.shape(), e.getKey() + " <- " + e.getValue());
            p.value().copyFrom(value);
            filled.add(e.getKey());
        }
        assertEquals(params.keySet(), filled, "every parameter loaded");
        Set<String> weights = new HashSet<>(file.names());
        weights.removeIf(n -> n.startsWith("expected."));
        assertEquals(weights, used, "every weight in the file used");
    }

    /** moe4j parameter name to file name; a name with {e} stands for the experts stacked along a new first axis. */
    private static Map<String, String> hfNames(TransformerLm model) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("embedding.weight", "model.embed_tokens.weight");
        for (int i = 0; i < model.blocks().size(); i++) {
            TransformerBlock b = model.blocks().get(i);
            String j = "layers." + i + ".", h = "model.layers." + i + ".";
            m.put(j + "attentionNorm.weight", h + "input_layernorm.weight");
            for (String p : new String[] {"q", "k", "v", "o"}) {
                m.put(j + "attention." + p + ".weight", h + "self_attn." + p + "_proj.weight");
                if (!p.equals("o") && model.config().attentionBias()) {
                    m.put(j + "attention." + p + ".bias", h + "self_attn." + p + "_proj.bias");
                }
            }
            if (b.attention().qNorm() != null) {
                m.put(j + "attention.qNorm.weight", h + "self_attn.q_norm.weight");
                m.put(j + "attention.kNorm.weight", h + "self_attn.k_norm.weight");
            }
            m.put(j + "ffnNorm.weight", h + "post_attention_layernorm.weight");
            for (String p : new String[] {"gate", "up", "down"}) {
                if (b.moe() == null) {
                    m.put(j + "mlp." + p + ".weight", h + "mlp." + p + "_proj.weight");
                    continue;
                }
                m.put(j + "mlp.experts." + p, h + "mlp.experts.{e}." + p + "_proj.weight");
                if (b.moe().shared() != null) m.put(j + "mlp.shared." + p, h + "mlp.shared_expert." + p + "_proj.weight+");
            }
            if (b.moe() != null) {
                m.put(j + "mlp.router.weight", h + "mlp.gate.weight");
                if (model.config().sharedGate()) m.put(j + "mlp.sharedGate", h + "mlp.shared_expert_gate.weight");
            }
        }
        m.put("norm.weight", "model.norm.weight");
        if (model.head() != null) m.put("head.weight", "lm_head.weight");
        return m;
    }

    /** The file's tensor; "{e}" stacks experts 0, 1, ... along a new axis; a trailing "+" adds a leading axis of 1. */
    private static Tensor stacked(SafetensorsFile file, String name, Set<String> used) {
        if (name.endsWith("+")) return stacked(file, name.substring(0, name.length() - 1), used).unsqueeze(0);
        if (!name.contains("{e}")) {
            used.add(name);
            return file.tensor(name);
        }
        int count = 0;
        while (file.contains(name.replace("{e}", Integer.toString(count)))) count++;
        Tensor first = file.tensor(name.replace("{e}", "0"));
        int[] shape = new int[first.rank() + 1];
        shape[0] = count;
        System.arraycopy(first.shape(), 0, shape, 1, first.rank());
        Tensor out = Tensor.zeros(shape);
        for (int e = 0; e < count; e++) {
            String n = name.replace("{e}", Integer.toString(e));
            used.add(n);
            out.narrow(0, e, 1).copyFrom(file.tensor(n).unsqueeze(0));
        }
        return out;
    }

    private static int[][] prompt(Fixture f) {
        return Arrays.stream(f.file().metadata().get("prompt").split(";"))
                .map(row -> Arrays.stream(row.split(",")).mapToInt(Integer::parseInt).toArray()).toArray(int[][]::new);
    }

    private static IntTensor batch(int[][] rows) {
        return new IntTensor(Arrays.stream(rows).flatMapToInt(Arrays::stream).toArray(),
                new int[] {rows.length, rows[0].length});
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen", "mixtral"})
    void logitsAndGreedyTokensMatchPyTorch(String name) throws IOException {
        Fixture f = load(name);
        int[][] rows = prompt(f);
        Tensor expected = f.file().tensor("expected.logits");
        try (GradMode off = GradMode.off()) {
            Tensor logits = f.model().forward(batch(rows), RoutingContext.inference("golden")).logits().value();
            TestData.assertClose(expected, logits, 1e-5, 1e-4);
        }
        // Greedy decoding through the KV cache: the prompt at once, then one token per step.
        KvCache cache = f.model().newCache();
        Tensor last = f.model().forwardIncremental(IntTensor.of(rows[0]), cache).logits().value();
        TestData.assertClose(expected.narrow(0, 0, 1), last, 1e-5, 1e-4);
        int[] want = Arrays.stream(f.file().metadata().get("greedy").split(",")).mapToInt(Integer::parseInt).toArray();
        int[] got = new int[want.length];
        for (int s = 0; s < want.length; s++) {
            got[s] = argmaxLast(last);
            last = f.model().forwardIncremental(IntTensor.of(got[s]), cache).logits().value();
        }
        assertArrayEquals(want, got, name + ": greedy continuation");
    }

    private static int argmaxLast(Tensor logits) {
        int v = logits.dim(-1);
        float[] a = logits.toFloatArray();
        int base = a.length - v, best = 0;
        for (int j = 1; j < v; j++) if (a[base + j] > a[base + best]) best = j;
        return best;
    }

    /** Ten AdamW steps on the prompt batch (next-token targets) give PyTorch's loss curve. */
    @ParameterizedTest
    @ValueSource(strings = {"qwen", "mixtral"})
    void trainingLossCurveMatchesPyTorch(String name) throws IOException {
        Fixture f = load(name);
        JsonNode opt = JSON.readTree(f.file().metadata().get("adamw"));
        int[][] rows = prompt(f);
        int[][] targets = new int[rows.length][];
        for (int b = 0; b < rows.length; b++) {
            targets[b] = Arrays.copyOfRange(rows[b], 1, rows[b].length + 1);
            targets[b][rows[b].length - 1] = rows[rows.length - 1 - b][0];
        }
        TransformerLm model = f.model();
        AdamW adamw = new AdamW(model.parameters(), opt.get("lr").asDouble(), opt.get("beta1").asDouble(),
                opt.get("beta2").asDouble(), opt.get("eps").asDouble(), opt.get("weight_decay").asDouble());
        double[] expected = f.file().tensor("expected.losses").toDoubleArray();
        double[] losses = new double[opt.get("steps").asInt()];
        for (int s = 0; s < losses.length; s++) {
            adamw.zeroGrad();
            Variable loss = model.forward(batch(rows), RoutingContext.training("golden", new Rng(s))).loss(batch(targets));
            loss.backward();
            adamw.step();
            losses[s] = loss.value().item();
        }
        TestData.assertClose(expected, losses, 1e-6, 1e-5);
        assertTrue(losses[losses.length - 1] < losses[0] * 0.8, "the loss fell: " + Arrays.toString(losses));
    }
}
