package org.moe4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/** Several sequences advanced in one call: each gets the bits it gets alone, whatever else is in the batch. */
class BatchedIncrementalTest {
    private static final int PROMPT = 6, STEPS = 5;

    /** Grouped-query attention, qk-norm, a dense first layer and a shared expert: every path of the block. */
    private static TransformerConfig config() {
        return TransformerConfig.tiny().withVocab(37).withQkNorm(QkNorm.PER_HEAD).withLayers(3)
                .withDenseLayers(1, 48, 1).withShared(1, 32, true).withMaxSeqLen(40);
    }

    private static int[] randomIds(Rng rng, int vocab, int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(vocab);
        return ids;
    }

    private static int argmax(Tensor row) {
        float[] v = row.toFloatArray();
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /** The target's logits of every step (prefill rows, then each decoded token), greedy, decoded alone. */
    private static List<float[]> alone(TransformerLm model, int[] prompt) {
        return batched(model, prompt, 0, new Rng(0));
    }

    /**
     * The target decoded greedily while {@code others} sequences share every call, in an order shuffled at each
     * step; the others are at different stages: some prefill their prompt in chunks, some decode.
     */
    private static List<float[]> batched(TransformerLm model, int[] prompt, int others, Rng rng) {
        int vocab = model.config().vocab();
        List<KvCache> otherCaches = new ArrayList<>();
        List<int[]> otherPrompts = new ArrayList<>();
        int[] otherPos = new int[others];
        for (int o = 0; o < others; o++) {
            KvCache cache = model.newCache();
            int pre = rng.nextInt(4);
            if (pre > 0) model.forwardIncremental(IntTensor.of(randomIds(rng, vocab, pre)), cache); // already running
            otherCaches.add(cache);
            otherPrompts.add(randomIds(rng, vocab, 1 + rng.nextInt(9)));
        }
        KvCache cache = model.newCache();
        List<float[]> out = new ArrayList<>();
        int[] next = prompt;
        for (int step = 0; step <= STEPS; step++) {
            int[] order = new int[others + 1];
            for (int i = 0; i < order.length; i++) order[i] = i;
            rng.shuffle(order);
            List<IntTensor> ids = new ArrayList<>();
            List<KvCache> caches = new ArrayList<>();
            int target = -1;
            for (int i : order) {
                if (i == others) {
                    target = ids.size();
                    ids.add(IntTensor.of(next));
                    caches.add(cache);
                } else {
                    int[] p = otherPrompts.get(i);
                    int chunk = otherPos[i] < p.length ? Math.min(p.length - otherPos[i], 1 + rng.nextInt(3)) : 1;
                    int[] tokens = otherPos[i] < p.length ? Arrays.copyOfRange(p, otherPos[i], otherPos[i] + chunk)
                            : new int[] {rng.nextInt(vocab)};
                    otherPos[i] += chunk;
                    ids.add(IntTensor.of(tokens));
                    caches.add(otherCaches.get(i));
                }
            }
            IncrementalOutput r = model.forwardIncremental(ids, caches, false);
            Tensor mine = r.logits(target);
            out.add(mine.toFloatArray());
            next = new int[] {argmax(r.lastLogits(target))};
        }
        return out;
    }

    @Test
    void aSequenceGetsTheSameBitsAloneOrWithOthersInAnyOrder() {
        TransformerLm model = new TransformerLm(config(), new Rng(5));
        int[] prompt = randomIds(new Rng(6), 37, PROMPT);
        List<float[]> alone = alone(model, prompt);
        assertEquals(PROMPT * 37, alone.get(0).length, "prefill gives a row per prompt token");
        for (int others : new int[] {1, 7, 12}) {
            List<float[]> together = batched(model, prompt, others, new Rng(100 + others));
            for (int s = 0; s < alone.size(); s++) {
                assertArrayEquals(alone.get(s), together.get(s), 0f, others + " others, step " + s);
            }
        }
    }

    @Test
    void theOneSequenceMethodIsTheOneElementBatch() {
        TransformerLm model = new TransformerLm(config(), new Rng(7));
        int[] prompt = randomIds(new Rng(8), 37, PROMPT);
        KvCache a = model.newCache(), b = model.newCache();
        float[] single = model.forwardIncremental(IntTensor.of(prompt), a).logits().value().toFloatArray();
        IncrementalOutput batch = model.forwardIncremental(List.of(IntTensor.of(prompt)), List.of(b), false);
        assertArrayEquals(single, batch.logits().toFloatArray(), 0f);
        assertEquals(a.length(), b.length());
    }

    @Test
    void lastOnlyGivesTheLastRowOfEachSequenceWithTheSameBits() {
        TransformerLm model = new TransformerLm(config(), new Rng(9));
        Rng rng = new Rng(10);
        int[][] prompts = {randomIds(rng, 37, 4), randomIds(rng, 37, 1), randomIds(rng, 37, 7)};
        List<KvCache> full = List.of(model.newCache(), model.newCache(), model.newCache());
        List<KvCache> last = List.of(model.newCache(), model.newCache(), model.newCache());
        List<IntTensor> ids = Arrays.stream(prompts).map(IntTensor::of).toList();
        IncrementalOutput all = model.forwardIncremental(ids, full, false);
        IncrementalOutput end = model.forwardIncremental(ids, last, true);
        assertArrayEquals(new int[] {12, 37}, all.logits().shape());
        assertArrayEquals(new int[] {3, 37}, end.logits().shape());
        for (int s = 0; s < 3; s++) {
            assertArrayEquals(all.lastLogits(s).toFloatArray(), end.lastLogits(s).toFloatArray(), 0f, "sequence " + s);
            assertEquals(prompts[s].length, last.get(s).length());
        }
    }

    @Test
    void misuseIsRefusedBeforeAnyCacheChanges() {
        TransformerLm model = new TransformerLm(config().withMaxSeqLen(10), new Rng(11));
        KvCache a = model.newCache(), b = model.newCache();
        model.forwardIncremental(IntTensor.of(1, 2, 3), a);
        model.forwardIncremental(IntTensor.zeros(8), b);
        Moe4jException full = assertThrows(Moe4jException.class,
                () -> model.forwardIncremental(List.of(IntTensor.of(4), IntTensor.zeros(3)), List.of(a, b), false));
        assertTrue(full.getMessage().contains("(sequence 1)") && full.getMessage().contains("exceed the maximum of 10"),
                full.getMessage());
        assertEquals(3, a.length(), "sequence 0 was fine, but nothing ran");
        assertEquals(8, b.length());
        Moe4jException twice = assertThrows(Moe4jException.class,
                () -> model.forwardIncremental(List.of(IntTensor.of(4), IntTensor.of(5)), List.of(a, a), false));
        assertTrue(twice.getMessage().contains("each sequence needs its own"), twice.getMessage());
        Moe4jException count = assertThrows(Moe4jException.class,
                () -> model.forwardIncremental(List.of(IntTensor.of(4)), List.of(a, b), false));
        assertTrue(count.getMessage().contains("one kv cache per sequence"), count.getMessage());
        Moe4jException id = assertThrows(Moe4jException.class,
                () -> model.forwardIncremental(List.of(IntTensor.of(4), IntTensor.of(99)), List.of(a, b), false));
        assertTrue(id.getMessage().contains("(sequence 1): token id 99"), id.getMessage());
        assertEquals(3, a.length());
    }
}
