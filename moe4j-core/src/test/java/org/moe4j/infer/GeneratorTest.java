package org.moe4j.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.io.tokenizer.SpecialRoles;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.model.KvCache;
import org.moe4j.model.TransformerConfig;
import org.moe4j.model.TransformerLm;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

class GeneratorTest {
    private static final TransformerLm MODEL = new TransformerLm(TransformerConfig.tiny().withMaxSeqLen(48), new Rng(3));
    private static final Generator GEN = new Generator(MODEL, new ByteTokenizer());
    private static final int[] PROMPT = new ByteTokenizer().encode("In the beginning");

    private static GenerationOptions options(int max, SamplingParams p) {
        return GenerationOptions.of(max, p).withIgnoreEos(true);
    }

    /** The greedy tokens by hand: argmax after the prompt, then after each token. */
    private static int[] greedyByHand(int[] prompt, int n) {
        KvCache cache = MODEL.newCache();
        Tensor logits = MODEL.forwardIncremental(IntTensor.of(prompt), cache).logits().value();
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            Tensor last = logits.narrow(1, logits.dim(1) - 1, 1).contiguous();
            out[i] = Sampler.argmax(last.floats(), last.offset(), last.numel());
            if (i + 1 < n) logits = MODEL.forwardIncremental(IntTensor.of(out[i]), cache).logits().value();
        }
        return out;
    }

    @Test
    void greedyGenerationStreamsTheTokensAndTextItReturns() {
        List<Integer> streamed = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        FinishReason[] reason = new FinishReason[1];
        GenerationResult r = GEN.generate(PROMPT, options(12, SamplingParams.GREEDY), new GenerationListener() {
            @Override
            public void onToken(int id, String delta) {
                streamed.add(id);
                text.append(delta);
            }

            @Override
            public void onFinish(String trailing, FinishReason why) {
                text.append(trailing);
                reason[0] = why;
            }
        });
        assertArrayEquals(greedyByHand(PROMPT, 12), r.ids());
        assertArrayEquals(r.ids(), streamed.stream().mapToInt(Integer::intValue).toArray());
        assertEquals(new ByteTokenizer().decode(r.ids()), r.text());
        assertEquals(r.text(), text.toString(), "deltas and trailing text join to the result");
        assertEquals(FinishReason.MAX_TOKENS, r.finishReason());
        assertEquals(FinishReason.MAX_TOKENS, reason[0]);
        assertEquals(PROMPT.length, r.promptTokens());
        assertEquals(12, r.generatedTokens());
        assertTrue(r.promptNanos() > 0 && r.generationNanos() > 0 && r.generationTokensPerSecond() > 0);
        assertEquals(r.ids().length, GEN.generate("In the beginning", options(12, SamplingParams.GREEDY), null).ids().length);
    }

    @Test
    void theSameSeedGivesTheSameTokens() {
        SamplingParams p = new SamplingParams(1.0, 40, 0.95, 0.01, 11);
        int[] a = GEN.generate(PROMPT, options(10, p), null).ids();
        int[] b = GEN.generate(PROMPT, options(10, p), null).ids();
        assertArrayEquals(a, b);
        boolean differs = false;
        for (long seed = 12; seed < 16 && !differs; seed++) {
            differs = !java.util.Arrays.equals(a, GEN.generate(PROMPT, options(10, p.withSeed(seed)), null).ids());
        }
        assertTrue(differs, "other seeds draw other tokens");
    }

    /**
     * Continuous batching: the target runs alone, then with 1 and 7 others that join at different steps, in a
     * shuffled order at each step; greedy and seeded sampling give the same tokens every time.
     */
    @Test
    void tokensDoNotDependOnTheBatch() {
        for (SamplingParams p : List.of(SamplingParams.GREEDY, new SamplingParams(0.8, 20, 0.9, 0, 5))) {
            int[] alone = GEN.generate(PROMPT, options(6, p), null).ids();
            for (int others : new int[] {1, 7}) {
                Rng rng = new Rng(others);
                GenerationSequence target = GEN.start(PROMPT, options(6, p), null);
                List<GenerationSequence> waiting = new ArrayList<>();
                for (int o = 0; o < others; o++) {
                    int[] prompt = new int[1 + rng.nextInt(12)];
                    for (int i = 0; i < prompt.length; i++) prompt[i] = rng.nextInt(256);
                    waiting.add(GEN.start(prompt, options(1 + rng.nextInt(6), SamplingParams.of(1, o)), null));
                }
                List<GenerationSequence> running = new ArrayList<>(List.of(target));
                while (!target.finished()) {
                    if (!waiting.isEmpty() && rng.nextInt(2) == 0) running.add(waiting.remove(waiting.size() - 1));
                    java.util.Collections.shuffle(running, new java.util.Random(rng.nextLong()));
                    GEN.step(running);
                    running.removeIf(GenerationSequence::finished);
                    running.add(target);
                    running = new ArrayList<>(new java.util.LinkedHashSet<>(running));
                }
                assertArrayEquals(alone, target.result().ids(), p + " with " + others + " others");
            }
        }
    }

    @Test
    void stopsAtTheEndOfSequenceTokenAStopStringOrAFullContext() {
        int[] free = GEN.generate(PROMPT, options(20, SamplingParams.GREEDY), null).ids();
        Tokenizer eosIsThird = new EosAt(free[2]);
        GenerationResult eos = new Generator(MODEL, eosIsThird).generate(PROMPT,
                GenerationOptions.of(20, SamplingParams.GREEDY), null);
        int firstEos = 0;
        while (free[firstEos] != free[2]) firstEos++;
        assertEquals(FinishReason.END_OF_SEQUENCE, eos.finishReason());
        assertEquals(firstEos + 1, eos.generatedTokens(), "the end token is kept in the ids");
        assertEquals(new ByteTokenizer().decode(java.util.Arrays.copyOf(free, firstEos)), eos.text(), "but not in the text");

        String full = new ByteTokenizer().decode(free);
        String stop = full.substring(4, 6);
        GenerationResult cut = GEN.generate(PROMPT, options(20, SamplingParams.GREEDY).withStop(List.of(stop)), null);
        assertEquals(FinishReason.STOP_STRING, cut.finishReason());
        assertEquals(full.substring(0, full.indexOf(stop)), cut.text());

        int[] longPrompt = new int[40]; // context 48: 40 prompt positions, then 8 fed tokens fill it
        GenerationResult ctx = GEN.generate(longPrompt, options(100, SamplingParams.GREEDY), null);
        assertEquals(FinishReason.CONTEXT_FULL, ctx.finishReason());
        assertEquals(9, ctx.generatedTokens(), "the ninth token is drawn but there is no room to feed it");
        assertEquals("length", ctx.finishReason().apiName());
    }

    /** The byte tokenizer with another end-of-sequence id. */
    private record EosAt(int eos) implements Tokenizer {
        private static final ByteTokenizer BYTES = new ByteTokenizer();

        @Override
        public int[] encode(String text) {
            return BYTES.encode(text);
        }

        @Override
        public int[] encodeOrdinary(String text) {
            return BYTES.encodeOrdinary(text);
        }

        @Override
        public int vocabSize() {
            return BYTES.vocabSize();
        }

        @Override
        public byte[] tokenBytes(int id) {
            return BYTES.tokenBytes(id);
        }

        @Override
        public String tokenString(int id) {
            return BYTES.tokenString(id);
        }

        @Override
        public OptionalInt tokenId(String token) {
            return BYTES.tokenId(token);
        }

        @Override
        public boolean isSpecial(int id) {
            return BYTES.isSpecial(id);
        }

        @Override
        public SpecialRoles roles() {
            return new SpecialRoles(BYTES.bosId(), OptionalInt.of(eos), BYTES.padId());
        }
    }

    @Test
    void badRequestsNameTheParameter() {
        assertEquals("prompt", assertThrows(InvalidRequestException.class,
                () -> GEN.start(new int[0], options(3, SamplingParams.GREEDY), null)).parameter());
        assertEquals("prompt", assertThrows(InvalidRequestException.class,
                () -> GEN.start(new int[49], options(3, SamplingParams.GREEDY), null)).parameter());
        InvalidRequestException id = assertThrows(InvalidRequestException.class,
                () -> GEN.start(new int[] {1, 259}, options(3, SamplingParams.GREEDY), null));
        assertTrue(id.getMessage().contains("token id 259 at 1"), id.getMessage());
        assertEquals("max_tokens", assertThrows(InvalidRequestException.class,
                () -> GenerationOptions.of(0, SamplingParams.GREEDY)).parameter());
        assertEquals("stop", assertThrows(InvalidRequestException.class,
                () -> options(3, SamplingParams.GREEDY).withStop(List.of(""))).parameter());
        Generator idsOnly = new Generator(MODEL, null);
        assertEquals("stop", assertThrows(InvalidRequestException.class, () -> idsOnly.start(PROMPT,
                options(3, SamplingParams.GREEDY).withStop(List.of("x")), null)).parameter());
        assertEquals("prompt", assertThrows(InvalidRequestException.class, () -> idsOnly.encode("hi")).parameter());
        GenerationResult ids = idsOnly.generate(PROMPT, options(4, SamplingParams.GREEDY), null);
        assertEquals("", ids.text());
        assertArrayEquals(greedyByHand(PROMPT, 4), ids.ids());
    }

    @Test
    void promptLogitsAreEveryPositionsLogits() {
        Tensor all = GEN.promptLogits(PROMPT);
        assertArrayEquals(new int[] {PROMPT.length, 259}, all.shape());
        float[] expected = MODEL.forwardIncremental(IntTensor.of(PROMPT), MODEL.newCache()).logits().value().toFloatArray();
        assertArrayEquals(expected, all.toFloatArray(), 0f);
    }
}
