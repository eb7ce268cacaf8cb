package org.moe4j.infer;

import java.util.Arrays;
import java.util.OptionalInt;
import org.moe4j.io.tokenizer.StreamingDecoder;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.model.KvCache;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * One sequence being generated: its prompt, KV cache, sampler, text decoding and stop conditions. Made by
 * {@link Generator#start}; advanced by {@link Generator#step}, alone or together with others (sequences may join
 * and leave between steps: continuous batching). Its tokens do not depend on what else is in a step. Not
 * thread-safe: one scheduler thread steps it.
 */
public final class GenerationSequence {
    private final int[] prompt;
    private final GenerationOptions options;
    private final GenerationListener listener;
    private final KvCache cache;
    private final Sampler sampler;
    private final StreamingDecoder decoder; // null without a tokenizer
    private final StopMatcher stops; // null without stop strings
    private final OptionalInt eos;
    private final StringBuilder text = new StringBuilder();
    private int[] ids = new int[16];
    private int count;
    private long promptNanos;
    private long generationNanos;
    private FinishReason finish;
    private RuntimeException error;

    GenerationSequence(int[] prompt, GenerationOptions options, GenerationListener listener, KvCache cache,
            Tokenizer tokenizer) {
        this.prompt = prompt.clone();
        this.options = options;
        this.listener = listener == null ? GenerationListener.NONE : listener;
        this.cache = cache;
        this.sampler = new Sampler(options.sampling());
        this.decoder = tokenizer == null ? null : new StreamingDecoder(tokenizer);
        this.stops = options.stop().isEmpty() ? null : new StopMatcher(options.stop());
        this.eos = tokenizer == null || options.ignoreEos() ? OptionalInt.empty() : tokenizer.eosId();
    }

    /** The tokens the next step feeds: the whole prompt first (prefill), then the last generated token. */
    IntTensor nextInput() {
        if (finish != null) throw new IllegalStateException("generation: the sequence has finished (" + finish + ")");
        return count == 0 ? IntTensor.of(prompt) : IntTensor.of(ids[count - 1]);
    }

    /** Draws the next token from {@code logits} [vocab] of the step that took {@code nanos}, then checks the stops. */
    void accept(Tensor logits, long nanos) {
        if (count == 0) promptNanos = nanos;
        else generationNanos += nanos;
        int id = sampler.sample(logits);
        if (count == ids.length) ids = Arrays.copyOf(ids, 2 * count);
        ids[count++] = id;
        boolean end = eos.isPresent() && id == eos.getAsInt();
        String delta = "";
        if (decoder != null && !end) {
            String piece = decoder.push(id);
            delta = stops == null ? piece : stops.push(piece);
        }
        text.append(delta);
        listener.onToken(id, delta);
        if (end) finish(FinishReason.END_OF_SEQUENCE);
        else if (stops != null && stops.stopped()) finish(FinishReason.STOP_STRING);
        else if (count >= options.maxTokens()) finish(FinishReason.MAX_TOKENS);
        else if (cache.length() >= cache.maxLength()) finish(FinishReason.CONTEXT_FULL);
    }

    /** Ends the sequence with {@link FinishReason#ERROR} because of {@code e}, without touching other sequences. */
    void fail(RuntimeException e) {
        if (finish != null) return;
        error = e;
        finish(FinishReason.ERROR);
    }

    /** What failed when it finished with {@link FinishReason#ERROR}, else null. */
    public RuntimeException error() {
        return error;
    }

    /** Ends the sequence now (a client went away, a timeout); nothing happens if it has already finished. */
    public void cancel() {
        if (finish == null) finish(FinishReason.CANCELLED);
    }

    private void finish(FinishReason reason) {
        String tail = "";
        if (decoder != null) {
            String rest = decoder.finish();
            tail = stops == null ? rest : stops.push(rest) + stops.finish();
        }
        text.append(tail);
        finish = reason;
        listener.onFinish(tail, reason);
    }

    public boolean finished() {
        return finish != null;
    }

    /** Why it finished, or null while it runs. */
    public FinishReason finishReason() {
        return finish;
    }

    /** Tokens generated so far. */
    public int generatedTokens() {
        return count;
    }

    public int promptTokens() {
        return prompt.length;
    }

    /** The cache this sequence decodes with (its length is the prompt plus the tokens fed so far). */
    public KvCache cache() {
        return cache;
    }

    /** The outcome; only once finished. */
    public GenerationResult result() {
        if (finish == null) throw new IllegalStateException("generation: the sequence is still running");
        return new GenerationResult(prompt, Arrays.copyOf(ids, count), text.toString(), finish, promptNanos,
                generationNanos);
    }
}
