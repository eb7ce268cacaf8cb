package org.moe4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.GradCheck;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.moe.RoutingContext;
import org.moe4j.moe.SoftmaxTopKRouter.SoftmaxOrder;
import org.moe4j.nn.Init;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class TransformerLmTest {
    /** Tiny, with grouped-query attention (4 heads over 2) and per-head qk-norm. */
    private static TransformerConfig gqaConfig() {
        return TransformerConfig.tiny().withVocab(37).withQkNorm(QkNorm.PER_HEAD);
    }

    private static IntTensor randomIds(Rng rng, int vocab, int batch, int seq) {
        int[] ids = new int[batch * seq];
        for (int i = 0; i < ids.length; i++) ids[i] = rng.nextInt(vocab);
        return new IntTensor(ids, new int[] {batch, seq});
    }

    private static Tensor inferLogits(TransformerLm model, IntTensor ids) {
        try (GradMode off = GradMode.off()) {
            return model.forward(ids, RoutingContext.inference("lm")).logits().value();
        }
    }

    @Test
    void forwardGivesLogitsPerPositionAuxLossInTrainingAndStatsPerMoeLayer() {
        TransformerConfig c = gqaConfig().withDenseLayers(1, 48, 1).withLayers(3);
        TransformerLm model = new TransformerLm(c, new Rng(1));
        IntTensor ids = randomIds(new Rng(2), c.vocab(), 2, 9);
        LmOutput train = model.forward(ids, RoutingContext.training("lm", new Rng(3)));
        assertArrayEquals(new int[] {2, 9, c.vocab()}, train.logits().shape());
        assertNotNull(train.auxLoss(), "balance loss 0.01 applies in training");
        assertEquals(List.of("layers.1.mlp", "layers.2.mlp"), train.routerStats().stream().map(s -> s.layer()).toList(),
                "layer 0 is dense, layers 1 and 2 route");
        assertEquals(18, train.routerStats().get(0).tokens());
        assertEquals(18 * 2, train.routerStats().get(0).totalRouted());
        Variable loss = train.loss(ids);
        loss.backward();
        assertNotNull(model.namedParameters().get("layers.1.mlp.router.weight").grad(),
                "the router learns through the gates");
        assertNotNull(model.embedding().weight().grad());
        assertNull(inferLogitsOutput(model, ids).auxLoss(), "no balance loss at inference");
    }

    private static LmOutput inferLogitsOutput(TransformerLm model, IntTensor ids) {
        try (GradMode off = GradMode.off()) {
            return model.forward(ids, RoutingContext.inference("lm"));
        }
    }

    @Test
    void parameterNamesFollowTheBlocks() {
        TransformerConfig c = gqaConfig().withDenseLayers(1, 48, 1).withTiedEmbeddings(true);
        TransformerLm model = new TransformerLm(c, new Rng(1));
        var names = model.namedParameters().keySet();
        assertTrue(names.containsAll(List.of("embedding.weight", "layers.0.attentionNorm.weight",
                "layers.0.attention.q.weight", "layers.0.attention.k.weight", "layers.0.attention.qNorm.weight",
                "layers.0.mlp.gate.weight", "layers.1.mlp.router.weight", "layers.1.mlp.experts.gate",
                "layers.1.mlp.experts.up", "layers.1.mlp.experts.down", "norm.weight")), names.toString());
        assertTrue(names.stream().noneMatch(n -> n.startsWith("head")), "a tied head has no weight of its own");
        assertEquals(16, model.namedParameters().get("layers.0.attention.qNorm.weight").value().numel());
        assertEquals(model.parameterCount() - (4 - 2) * 3L * 64 * 128, model.activeParameterCount(),
                "one MoE layer, 2 of 4 experts idle per token");
    }

    @Test
    void incrementalDecodingMatchesTheFullForwardStepByStep() {
        for (QkNorm norm : QkNorm.values()) {
            TransformerConfig c = gqaConfig().withQkNorm(norm).withMaxSeqLen(14);
            TransformerLm model = new TransformerLm(c, new Rng(11));
            Rng rng = new Rng(12);
            int prompt = 7, steps = 6;
            int[] seq = randomIds(rng, c.vocab(), 1, prompt + steps).data();
            KvCache cache = new KvCache(c, 4); // grows to 8, then to 14
            Tensor prefill = model.forwardIncremental(IntTensor.of(Arrays.copyOf(seq, prompt)), cache).logits().value();
            Tensor full = inferLogits(model, new IntTensor(seq, new int[] {1, seq.length}));
            TestData.assertClose(full.narrow(1, 0, prompt), prefill, 1e-5, 1e-5);
            for (int s = 0; s < steps; s++) {
                Tensor step = model.forwardIncremental(IntTensor.of(seq[prompt + s]), cache).logits().value();
                TestData.assertClose(full.narrow(1, prompt + s, 1), step, 1e-5, 1e-5);
            }
            assertEquals(prompt + steps, cache.length());
            assertEquals(14, cache.capacity(), "doubled from 4 to 8, then capped at maxSeqLen");
        }
    }

    /** Hash routing reads the token ids the model passes on, in the full forward and through the cache alike. */
    @Test
    void hashRoutingSeesTheTokenIds() {
        TransformerConfig c = gqaConfig().withRouter("hash").withMoe(4, 1, 32);
        TransformerLm model = new TransformerLm(c, new Rng(41));
        int[] seq = randomIds(new Rng(42), c.vocab(), 1, 9).data();
        Tensor full = inferLogits(model, new IntTensor(seq, new int[] {1, 9}));
        KvCache cache = model.newCache();
        Tensor prefill = model.forwardIncremental(IntTensor.of(Arrays.copyOf(seq, 5)), cache).logits().value();
        TestData.assertClose(full.narrow(1, 0, 5), prefill, 1e-5, 1e-5);
        for (int s = 5; s < 9; s++) {
            TestData.assertClose(full.narrow(1, s, 1),
                    model.forwardIncremental(IntTensor.of(seq[s]), cache).logits().value(), 1e-5, 1e-5);
        }
    }

    /** The model keeps no per-call state: threads decoding their own sequences get what one thread gets. */
    @Test
    void oneModelServesManyThreadsEachWithItsOwnCache() throws Exception {
        TransformerConfig c = gqaConfig();
        TransformerLm model = new TransformerLm(c, new Rng(51));
        int threads = 4, steps = 6;
        int[][] prompts = new int[threads][];
        for (int i = 0; i < threads; i++) prompts[i] = randomIds(new Rng(60 + i), c.vocab(), 1, 3 + i).data();
        float[][] alone = new float[threads][];
        for (int i = 0; i < threads; i++) alone[i] = decode(model, prompts[i], steps);
        float[][] together = new float[threads][];
        Thread[] workers = new Thread[threads];
        for (int i = 0; i < threads; i++) {
            int id = i;
            workers[i] = new Thread(() -> together[id] = decode(model, prompts[id], steps));
            workers[i].start();
        }
        for (Thread w : workers) w.join();
        for (int i = 0; i < threads; i++) assertArrayEquals(alone[i], together[i], 0f, "sequence " + i);
    }

    /** Greedy decoding: the prompt, then {@code steps} tokens; returns every step's logits, concatenated. */
    private static float[] decode(TransformerLm model, int[] prompt, int steps) {
        KvCache cache = model.newCache();
        Tensor logits = model.forwardIncremental(IntTensor.of(prompt), cache).logits().value();
        float[] all = new float[0];
        for (int s = 0; s < steps; s++) {
            int next = argmax(logits.narrow(1, logits.dim(1) - 1, 1))[0];
            logits = model.forwardIncremental(IntTensor.of(next), cache).logits().value();
            float[] step = logits.toFloatArray();
            all = Arrays.copyOf(all, all.length + step.length);
            System.arraycopy(step, 0, all, all.length - step.length, step.length);
        }
        return all;
    }

    /**
     * Routing is dropless with ties broken by expert index, so a sequence meets the same experts alone or in a
     * batch; every kernel computes a row (a token, or one head of one sequence) in a fixed order whatever the
     * other rows, so its logits are the same bits.
     */
    @Test
    void aSequenceGetsTheSameLogitsAloneOrInABatch() {
        TransformerConfig c = gqaConfig();
        TransformerLm model = new TransformerLm(c, new Rng(21));
        Rng rng = new Rng(22);
        // 3 rows alone take the GEMM's few-row path, 15 in a batch the packed one; 13 and 65 rows both pack.
        for (int seq : new int[] {3, 13}) {
            IntTensor batch = randomIds(rng, c.vocab(), 5, seq);
            LmOutput together = inferLogitsOutput(model, batch);
            long[] routedAlone = new long[c.experts()];
            for (int b = 0; b < 5; b++) {
                IntTensor one = new IntTensor(Arrays.copyOfRange(batch.data(), b * seq, (b + 1) * seq),
                        new int[] {1, seq});
                LmOutput alone = inferLogitsOutput(model, one);
                assertArrayEquals(together.logits().value().narrow(0, b, 1).toFloatArray(),
                        alone.logits().value().toFloatArray(), 0f, "bits of sequence " + b + " of length " + seq);
                for (int e = 0; e < c.experts(); e++) routedAlone[e] += alone.routerStats().get(1).routed()[e];
            }
            assertArrayEquals(together.routerStats().get(1).routed(), routedAlone,
                    "the batch routes each token to the experts it chooses alone");
        }
    }

    private static int[] argmax(Tensor logits) {
        int v = logits.dim(-1);
        float[] a = logits.toFloatArray();
        int[] best = new int[a.length / v];
        for (int r = 0; r < best.length; r++) {
            for (int j = 1; j < v; j++) if (a[r * v + j] > a[r * v + best[r]]) best[r] = j;
        }
        return best;
    }

    /**
     * Two tiny models between them cover every part: a dense first layer, qkv biases, per-head and full-width
     * qk-norm, grouped and plain attention, softmax before and after the top-k, gated shared experts, tied and
     * untied heads, and the balance and z losses.
     */
    @Test
    void gradcheckOfATinyModelsLossInFloat64() {
        TransformerConfig a = new TransformerConfig(11, 8, 2, 2, 1, 4, 100, 1e-5, QkNorm.PER_HEAD, true,
                3, 2, 4, "topk", SoftmaxOrder.BEFORE_TOP_K, true, 1, 3, true, 1, 5, 1, 0.05, 0.01, false, 8, 0.5);
        TransformerConfig b = a.withLayers(1).withAttention(2, 2, 4).withQkNorm(QkNorm.FULL_WIDTH)
                .withAttentionBias(false).withRouter("topk", SoftmaxOrder.AFTER_TOP_K, false).withShared(0, 0, false)
                .withDenseLayers(0, 0, 1).withTiedEmbeddings(true);
        IntTensor ids = new IntTensor(new int[] {1, 4, 9, 2, 0, 7, 7, 3, 10, 5}, new int[] {2, 5});
        IntTensor targets = new IntTensor(new int[] {4, 9, 2, 0, 6, 7, 3, 10, 5, 1}, new int[] {2, 5});
        for (TransformerConfig c : List.of(a, b)) {
            TransformerLm model;
            try (Init.DTypeScope s = Init.withDType(DType.F64)) {
                model = new TransformerLm(c, new Rng(31));
            }
            GradCheck.Result r = GradCheck.checkParameters(
                    () -> model.forward(ids, RoutingContext.training("lm", new Rng(0))).loss(targets),
                    model.parameters());
            assertTrue(r.passed(), c + ": " + r);
        }
    }

    @Test
    void misuseIsReportedWithWhatAndWhere() {
        TransformerConfig c = gqaConfig().withMaxSeqLen(10);
        TransformerLm model = new TransformerLm(c, new Rng(1));
        RoutingContext ctx = RoutingContext.inference("lm");
        Moe4jException vocab = assertThrows(Moe4jException.class,
                () -> model.forward(new IntTensor(new int[] {1, 2, 37}, new int[] {1, 3}), ctx));
        assertTrue(vocab.getMessage().contains("token id 37 at [0, 2]") && vocab.getMessage().contains("0..36"),
                vocab.getMessage());
        Moe4jException negative = assertThrows(Moe4jException.class,
                () -> model.forwardIncremental(IntTensor.of(3, -1), model.newCache()));
        assertTrue(negative.getMessage().contains("token id -1 at [1]"), negative.getMessage());
        Moe4jException longSeq = assertThrows(Moe4jException.class,
                () -> model.forward(IntTensor.zeros(1, 11), ctx));
        assertTrue(longSeq.getMessage().contains("exceeds maxSeqLen 10"), longSeq.getMessage());
        assertThrows(ShapeException.class, () -> model.forward(IntTensor.of(1, 2, 3), ctx));
        assertThrows(ShapeException.class, () -> model.forwardIncremental(IntTensor.zeros(2, 3), model.newCache()));

        KvCache cache = model.newCache();
        model.forwardIncremental(IntTensor.zeros(8), cache);
        Moe4jException overflow = assertThrows(Moe4jException.class,
                () -> model.forwardIncremental(IntTensor.zeros(3), cache));
        assertTrue(overflow.getMessage().contains("3 more tokens after 8 cached would exceed the maximum of 10"),
                overflow.getMessage());
        assertEquals(8, cache.length(), "a refused call leaves the cache as it was");
        model.forwardIncremental(IntTensor.zeros(2), cache);
        assertEquals(10, cache.length());

        TransformerLm other = new TransformerLm(c.withLayers(3), new Rng(1));
        Moe4jException mismatch = assertThrows(Moe4jException.class,
                () -> other.forwardIncremental(IntTensor.of(1), model.newCache()));
        assertTrue(mismatch.getMessage().contains("does not fit this model"), mismatch.getMessage());
    }
}
