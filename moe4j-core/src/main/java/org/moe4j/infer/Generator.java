package org.moe4j.infer;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.model.IncrementalOutput;
import org.moe4j.model.KvCache;
import org.moe4j.model.TransformerLm;
import org.moe4j.moe.RouterStats;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Generates text from a language model: each sequence's prompt goes through the model at once (prefill), then one
 * token at a time (decode) with its KV cache. {@link #step} advances any set of sequences in one batched model
 * call, so a scheduler can let sequences join and leave between steps; {@link #generate} runs one sequence to
 * the end. Holds no per-call state: one generator serves many threads, each with its own sequences.
 */
public final class Generator {
    private final TransformerLm model;
    private final Tokenizer tokenizer; // null: ids only

    /** A generator over {@code model}; {@code tokenizer} may be null (ids in, ids out, no text or stop strings). */
    public Generator(TransformerLm model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        if (tokenizer != null && tokenizer.vocabSize() > model.config().vocab()) {
            throw new org.moe4j.common.Moe4jException("generation: the tokenizer has " + tokenizer.vocabSize()
                    + " ids but the model only " + model.config().vocab() + "; they do not belong together");
        }
    }

    /** A generator over a loaded model and its tokenizer, if it has one. */
    public static Generator of(LoadedModel loaded) {
        return new Generator(loaded.model(), loaded.tokenizer().orElse(null));
    }

    public TransformerLm model() {
        return model;
    }

    public Optional<Tokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    /** The ids of {@code prompt} (special tokens' text becomes their ids). */
    public int[] encode(String prompt) {
        if (tokenizer == null) {
            throw new InvalidRequestException("prompt", "this model has no tokenizer; give token ids instead of text");
        }
        return tokenizer.encode(prompt);
    }

    /** A new sequence, not yet run: checks the prompt and options against the model. */
    public GenerationSequence start(int[] promptIds, GenerationOptions options, GenerationListener listener) {
        int vocab = model.config().vocab(), context = model.config().maxSeqLen();
        if (promptIds.length == 0) throw new InvalidRequestException("prompt", "is empty; give at least one token");
        if (promptIds.length > context) {
            throw new InvalidRequestException("prompt", promptIds.length + " tokens exceed the model's context of "
                    + context + " (maxSeqLen); shorten the prompt");
        }
        for (int i = 0; i < promptIds.length; i++) {
            if (promptIds[i] < 0 || promptIds[i] >= vocab) {
                throw new InvalidRequestException("prompt", "token id " + promptIds[i] + " at " + i
                        + " is outside the vocabulary (valid ids 0.." + (vocab - 1) + ")");
            }
        }
        if (tokenizer == null && !options.stop().isEmpty()) {
            throw new InvalidRequestException("stop", "stop strings need a tokenizer, and this model has none");
        }
        return new GenerationSequence(promptIds, options, listener, model.newCache(), tokenizer);
    }

    /**
     * One model call for every unfinished sequence in {@code sequences}: new ones prefill their prompt, the others
     * decode their last token; each then draws its next token and checks its stops. Finished ones are skipped.
     * A failure while drawing one sequence's token ends that sequence ({@link FinishReason#ERROR}) and no other; a
     * failure of the model call is thrown before any sequence changes. Returns the step's router telemetry per MoE
     * layer (empty when nothing ran), so a server can report expert load.
     */
    public List<RouterStats> step(List<GenerationSequence> sequences) {
        List<GenerationSequence> running = new ArrayList<>(sequences.size());
        List<IntTensor> ids = new ArrayList<>(sequences.size());
        List<KvCache> caches = new ArrayList<>(sequences.size());
        for (GenerationSequence s : sequences) {
            if (s.finished()) continue;
            running.add(s);
            ids.add(s.nextInput());
            caches.add(s.cache());
        }
        if (running.isEmpty()) return List.of();
        long t0 = System.nanoTime();
        IncrementalOutput out = model.forwardIncremental(ids, caches, true);
        long nanos = System.nanoTime() - t0;
        for (int i = 0; i < running.size(); i++) {
            GenerationSequence s = running.get(i);
            try {
                s.accept(out.lastLogits(i), nanos);
            } catch (RuntimeException e) { // one sequence's bad draw (or listener) ends that sequence only
                s.fail(e);
            }
        }
        return out.routerStats();
    }

    /** Steps all {@code sequences} together until every one has finished; their results in the same order. */
    public List<GenerationResult> run(List<GenerationSequence> sequences) {
        while (sequences.stream().anyMatch(s -> !s.finished())) step(sequences);
        return sequences.stream().map(GenerationSequence::result).toList();
    }

    /**
     * Generates after {@code promptIds} until a stop; {@code listener} (or null) hears each token. A failure while
     * drawing a token is rethrown.
     */
    public GenerationResult generate(int[] promptIds, GenerationOptions options, GenerationListener listener) {
        GenerationSequence s = start(promptIds, options, listener);
        run(List.of(s));
        if (s.error() != null) throw s.error();
        return s.result();
    }

    /** Generates after the text {@code prompt} (needs a tokenizer). */
    public GenerationResult generate(String prompt, GenerationOptions options, GenerationListener listener) {
        return generate(encode(prompt), options, listener);
    }

    /** The logits at every position of {@code promptIds}, [positions, vocab], from a fresh cache. */
    public Tensor promptLogits(int[] promptIds) {
        GenerationSequence check = start(promptIds, GenerationOptions.of(1, SamplingParams.GREEDY), null);
        return model.forwardIncremental(List.of(IntTensor.of(promptIds)), List.of(check.cache()), false).logits();
    }
}
