package org.moe4j.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.io.tokenizer.TokenizerJson;
import org.moe4j.model.TransformerLm;
import org.moe4j.train.data.TextData;
import org.moe4j.train.progress.ProgressBar;

/**
 * Entry points for training language models on text: the tokenizer of a {@code --tokenizer} value, a fresh model
 * of a run config, the {@link LmTask}, and {@link #trainFor}, which trains a model for a fixed time and returns its
 * held-out bits per byte (the quickstart's MoE against dense comparison).
 */
public final class LmTraining {
    private LmTraining() {}

    /** "byte" gives the {@link ByteTokenizer} with its default specials; anything else is a tokenizer.json file. */
    public static Tokenizer tokenizer(String spec) {
        if (spec == null || spec.isBlank() || spec.strip().equalsIgnoreCase(LmRunConfig.BYTE)) return new ByteTokenizer();
        Path file = Path.of(spec.strip());
        if (!Files.isRegularFile(file)) {
            throw new Moe4jException("--tokenizer " + spec + ": no such file; give 'byte' or a tokenizer.json (train one "
                    + "with BpeTrainer, saved by TokenizerJson)");
        }
        return TokenizerJson.read(file);
    }

    /** "byte" or "bpe": the name the checkpoint contract records for {@code tokenizer}. */
    public static String kind(Tokenizer tokenizer) {
        return tokenizer instanceof ByteTokenizer ? LmRunConfig.BYTE : LmRunConfig.BPE;
    }

    /**
     * A run config with {@link TrainConfig} defaults for language models: AdamW at {@code lr}, 50 warmup steps (at
     * most a tenth of the run), cosine to lr/10, clip 1, weight decay 0.1, one epoch unless {@code maxSteps} ends it.
     */
    public static LmRunConfig config(String model, String data, Tokenizer tokenizer, String tokenizerFile, String preset,
            Integer experts, Integer topK, String router, int seqLen, int batch, long maxSteps, double lr, long seed) {
        return config(model, data, tokenizer, tokenizerFile, preset, experts, topK, router, seqLen,
                trainConfig(1, maxSteps, batch, lr, -1, seed, 0), DEFAULT_EVAL_TOKENS, DEFAULT_EVAL_EVERY);
    }

    /** Evaluate on at most this many held-out tokens by default: a few seconds for the small preset on 2 cores. */
    public static final long DEFAULT_EVAL_TOKENS = 16_384;
    /** Evaluate every this many steps by default. */
    public static final int DEFAULT_EVAL_EVERY = 200;

    /** A run config with the given optimization settings and evaluation cap and interval. */
    public static LmRunConfig config(String model, String data, Tokenizer tokenizer, String tokenizerFile, String preset,
            Integer experts, Integer topK, String router, int seqLen, TrainConfig train, long evalTokens, int evalEvery) {
        String m = model == null ? "" : model.toLowerCase(Locale.ROOT);
        String p = preset == null ? "" : preset.toLowerCase(Locale.ROOT);
        return new LmRunConfig(m, data, kind(tokenizer), tokenizerFile, p,
                LmRunConfig.transformer(m, p, tokenizer.vocabSize(), seqLen, experts, topK, router), seqLen, evalTokens,
                evalEvery, train);
    }

    /**
     * The language-model optimization defaults: AdamW at {@code lr}, cosine to lr/10, weight decay 0.1, clip 1;
     * {@code warmup} steps, or when negative 50 (at most a tenth of a run of {@code maxSteps}).
     */
    public static TrainConfig trainConfig(int epochs, long maxSteps, int batch, double lr, int warmup, long seed,
            int checkpointEvery) {
        int w = warmup >= 0 ? warmup : (int) Math.min(50, maxSteps > 0 ? Math.max(1, maxSteps / 10) : 50);
        return new TrainConfig(epochs, maxSteps, batch, "adamw", lr, lr / 10, w, 0.1, 0.9, 1.0, seed, checkpointEvery, 3,
                10, 50, 0, false, 10);
    }

    /** A freshly initialised model of {@code config} (the seed decides every weight). */
    public static TransformerLm model(LmRunConfig config) {
        return new TransformerLm(config.transformer(), new Rng(config.train().seed()));
    }

    /** The task of {@code config} on {@code data}, with a fresh model. */
    public static LmTask task(LmRunConfig config, TextData data) {
        if (data.tokenizer().vocabSize() != config.transformer().vocab()) {
            throw new Moe4jException("the tokenizer has " + data.tokenizer().vocabSize() + " ids but the model's vocabulary is "
                    + config.transformer().vocab());
        }
        return new LmTask(model(config), data, config);
    }

    /**
     * What {@link #trainFor} reached.
     *
     * @param steps       optimizer steps taken
     * @param seconds     training time
     * @param bitsPerByte held-out bits per byte at the end
     * @param perplexity  held-out perplexity per token at the end
     * @param model       the trained model
     */
    public record Timed(long steps, double seconds, double bitsPerByte, double perplexity, TransformerLm model) {}

    /**
     * Trains {@code config} on {@code data} for about {@code seconds} (and at most its max steps), checkpointing to
     * {@code out} when not null, and evaluates on the held-out text. The learning-rate schedule spans the run's
     * max steps, so give it a step count the time can roughly reach.
     */
    public static Timed trainFor(LmRunConfig config, TextData data, double seconds, Path out, ProgressBar progress) {
        LmTask task = task(config, data);
        Trainer trainer = new Trainer(task, config.train()).timeLimit(seconds);
        if (out != null) trainer.output(out, config);
        if (progress != null) trainer.progress(progress);
        TrainResult r = trainer.run();
        LmEvaluator.Result e = task.evaluate(false);
        return new Timed(r.steps(), r.seconds(), e.bitsPerByte(), e.perplexity(), task.model());
    }
}
