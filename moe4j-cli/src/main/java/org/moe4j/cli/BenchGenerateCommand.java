package org.moe4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.infer.Sampler;
import org.moe4j.kernel.Backend;
import org.moe4j.kernel.Parallel;
import org.moe4j.model.KvCache;
import org.moe4j.model.TransformerConfig;
import org.moe4j.model.TransformerLm;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code moe4j bench generate}: a randomly initialised language model prefills a random prompt through its KV
 * cache, then decodes greedily one token at a time; prints prompt and generation tokens/s.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Time generation with a randomly initialised transformer LM: prefill of a random prompt, then "
                + "greedy decoding one token at a time through the KV cache (TransformerLm.forwardIncremental).",
                "The model comes from --preset, with any of --vocab, --dim, --layers, --heads, --kv-heads, --experts, "
                        + "--top-k, --ffn overriding it (e.g. a Mixtral shape: --dim 1024 --layers 8 --experts 8 "
                        + "--top-k 2 --ffn 2816 --vocab 32000)."},
        showDefaultValues = true)
final class BenchGenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE.gguf|DIR", description = "Time this model (any path 'moe4j generate' "
            + "reads, through ModelLoader; a quantized GGUF stays quantized) instead of a random one; the size flags "
            + "then do not apply.")
    java.nio.file.Path modelPath;

    @Option(names = "--save-gguf", paramLabel = "FILE", description = "Write the random model (--preset and size "
            + "flags) as a llama GGUF file in --save-type and exit, e.g. to time the same file with llama.cpp.")
    java.nio.file.Path saveGguf;

    @Option(names = "--save-type", defaultValue = "F32", paramLabel = "F32|F16|Q8_0|Q4_0",
            description = "Matrix format of --save-gguf.")
    org.moe4j.tensor.QuantFormat saveType;

    @Option(names = "--preset", defaultValue = "small", paramLabel = "tiny|small", description = "Base model shape.")
    String preset;

    @Option(names = "--vocab", description = "Vocabulary size.")
    Integer vocab;

    @Option(names = "--dim", description = "Model width d_model.")
    Integer dim;

    @Option(names = "--layers", description = "Transformer blocks.")
    Integer layers;

    @Option(names = "--heads", description = "Query heads (head width dim / heads).")
    Integer heads;

    @Option(names = "--kv-heads", description = "Key/value heads (default: --heads when that is given).")
    Integer kvHeads;

    @Option(names = "--experts", description = "Routed experts per layer.")
    Integer experts;

    @Option(names = "--top-k", paramLabel = "K", description = "Experts per token.")
    Integer topK;

    @Option(names = "--ffn", description = "Hidden width of each SwiGLU expert.")
    Integer ffn;

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "Prompt length (prefilled at once).")
    int promptTokens;

    @Option(names = "--gen-tokens", defaultValue = "64", description = "Tokens generated one at a time.")
    int genTokens;

    @Option(names = "--repeats", defaultValue = "3", description = "Timed runs after one warm-up run; the best is reported.")
    int repeats;

    @Option(names = "--warmup", paramLabel = "S", defaultValue = "3",
            description = "Seconds of untimed runs first (at least one), so the timed runs see compiled code.")
    double warmupSeconds;

    @Option(names = "--threads", paramLabel = "T", description = "Kernel threads (default: all cores, or -Dmoe4j.threads).")
    Integer threads;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the weights and the prompt.")
    long seed;

    @Option(names = "--json", description = "Print one JSON line: the model, promptTokensPerSecond, genTokensPerSecond "
            + "(best run), their means, promptTokensPerCpuSecond and genTokensPerCpuSecond (per second of the calling thread's CPU time: "
            + "with --threads 1 all of the work, and steadier than the wall clock on a shared machine), parameters "
            + "and activeParameters.")
    boolean json;

    @Override
    public Integer call() {
        TransformerConfig config = config();
        if (threads != null) {
            if (threads < 1) throw usage("--threads must be at least 1, got " + threads);
            Parallel.setThreads(threads);
        }
        TransformerLm model;
        if (modelPath != null) {
            if (saveGguf != null) throw usage("--save-gguf writes a random model; it does not go with --model");
            model = org.moe4j.infer.ModelLoader.load(modelPath).model();
            config = model.config();
            if (promptTokens + genTokens + 1 > config.maxSeqLen()) {
                throw usage("--prompt-tokens + --gen-tokens (" + (promptTokens + genTokens) + ") exceed the model's"
                        + " context of " + config.maxSeqLen() + " positions");
            }
        } else {
            model = new TransformerLm(config, new Rng(seed));
            if (saveGguf != null) {
                org.moe4j.io.gguf.GgufModel.save(model, org.moe4j.io.gguf.GgufArchitecture.LLAMA, null, saveType,
                        saveGguf, org.moe4j.io.gguf.GgufModel.Progress.NONE);
                spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s (%s, %.1fM parameters)%n", saveGguf,
                        saveType, model.parameterCount() / 1e6);
                spec.commandLine().getOut().flush();
                return 0;
            }
        }
        long floats = model.parameterCount();
        Rng rng = new Rng(seed + 1);
        int[] prompt = new int[promptTokens];
        for (int i = 0; i < promptTokens; i++) prompt[i] = rng.nextInt(config.vocab());

        Run warm = run(model, prompt);
        long warmEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
        while (System.nanoTime() < warmEnd) run(model, prompt);
        double bestPrompt = 0, bestGen = 0, bestGenCpu = 0, bestPromptCpu = 0, sumPromptSec = 0, sumGenSec = 0;
        int[] tokens = warm.tokens;
        for (int r = 0; r < repeats; r++) {
            Run run = run(model, prompt);
            if (!java.util.Arrays.equals(run.tokens, tokens)) {
                throw new Moe4jException("bench generate: greedy decoding is not deterministic across runs");
            }
            bestPrompt = Math.max(bestPrompt, promptTokens / run.promptSeconds);
            bestGen = Math.max(bestGen, genTokens / run.genSeconds);
            bestGenCpu = Math.max(bestGenCpu, genTokens / run.genCpuSeconds);
            bestPromptCpu = Math.max(bestPromptCpu, promptTokens / run.promptCpuSeconds);
            sumPromptSec += run.promptSeconds;
            sumGenSec += run.genSeconds;
        }
        double meanPrompt = promptTokens * repeats / sumPromptSec;
        double meanGen = genTokens * repeats / sumGenSec;
        print(config, model, floats, bestPrompt, bestGen, meanPrompt, meanGen, bestPromptCpu, bestGenCpu, tokens);
        return 0;
    }

    /** Wall seconds of prefill and decoding, the calling thread's CPU seconds of decoding, the greedy tokens. */
    private record Run(double promptSeconds, double genSeconds, double promptCpuSeconds, double genCpuSeconds,
            int[] tokens) {}

    private static final ThreadMXBean CLOCK = ManagementFactory.getThreadMXBean();

    private static long cpuNanos() {
        return CLOCK.isCurrentThreadCpuTimeSupported() ? CLOCK.getCurrentThreadCpuTime() : 0;
    }

    /** Prefill, then greedy decoding: each step feeds the argmax of the last logits. */
    private Run run(TransformerLm model, int[] prompt) {
        KvCache cache = model.newCache();
        long c0 = cpuNanos();
        long t0 = System.nanoTime();
        Tensor logits = lastLogits(model, prompt, cache);
        int next = argmax(logits);
        long t1 = System.nanoTime();
        long c1 = cpuNanos();
        int[] generated = new int[genTokens];
        for (int i = 0; i < genTokens; i++) {
            generated[i] = next;
            logits = lastLogits(model, new int[] {next}, cache);
            next = argmax(logits);
        }
        long t2 = System.nanoTime();
        long c2 = cpuNanos();
        return new Run((t1 - t0) / 1e9, (t2 - t1) / 1e9, (c1 - c0) / 1e9, (c2 - c1) / 1e9, generated);
    }

    /**
     * The logits [1, vocab] after the last of {@code ids}, as generation computes them: the prompt's other positions
     * get no output projection (llama-bench times its prompt the same way).
     */
    private static Tensor lastLogits(TransformerLm model, int[] ids, KvCache cache) {
        return model.forwardIncremental(List.of(new IntTensor(ids, new int[] {ids.length})), List.of(cache), true)
                .logits();
    }

    /** The id of the largest logit of logits [1, vocab] (the lowest id on ties), as greedy generation picks it. */
    private static int argmax(Tensor logits) {
        Tensor c = logits.contiguous();
        return Sampler.argmax(c.floats(), c.offset(), c.dim(1));
    }

    private TransformerConfig config() {
        TransformerConfig c = switch (preset) {
            case "tiny" -> TransformerConfig.tiny();
            case "small" -> TransformerConfig.small();
            default -> throw usage("--preset must be tiny or small, got '" + preset + "'");
        };
        if (promptTokens < 1) throw usage("--prompt-tokens must be at least 1, got " + promptTokens);
        if (genTokens < 1) throw usage("--gen-tokens must be at least 1, got " + genTokens);
        if (repeats < 1) throw usage("--repeats must be at least 1, got " + repeats);
        if (!(warmupSeconds >= 0) || Double.isInfinite(warmupSeconds)) {
            throw usage("--warmup must be a finite number of seconds >= 0, got " + warmupSeconds);
        }
        try {
            if (vocab != null) c = c.withVocab(vocab);
            if (dim != null || heads != null || kvHeads != null) {
                int d = dim != null ? dim : c.dModel();
                int h = heads != null ? heads : c.heads();
                int kv = kvHeads != null ? kvHeads : heads != null ? h : c.kvHeads();
                if (h < 1 || d % h != 0) throw usage("--dim " + d + " must be a positive multiple of --heads " + h);
                c = c.withDModel(d).withAttention(h, kv, d / h);
            }
            if (layers != null) c = c.withLayers(layers);
            if (experts != null || topK != null || ffn != null) {
                c = c.withMoe(experts != null ? experts : c.experts(), topK != null ? topK : c.topK(),
                        ffn != null ? ffn : c.expertHidden());
            }
            int longest = promptTokens + genTokens + 1;
            if (longest > c.maxSeqLen()) c = c.withMaxSeqLen(longest);
        } catch (Moe4jException e) {
            throw usage(e.getMessage());
        }
        return c;
    }

    private void print(TransformerConfig c, TransformerLm model, long params, double prompt, double gen,
            double meanPrompt, double meanGen, double promptCpu, double genCpu, int[] tokens) {
        PrintWriter out = spec.commandLine().getOut();
        String backend = Backend.current().name().toLowerCase(Locale.ROOT);
        long active = model.activeParameterCount();
        if (json) {
            ObjectNode line = Json.object();
            line.put("op", "generate");
            line.put("vocab", c.vocab());
            line.put("dim", c.dModel());
            line.put("layers", c.layers());
            line.put("heads", c.heads());
            line.put("kvHeads", c.kvHeads());
            line.put("experts", c.experts());
            line.put("topK", c.topK());
            line.put("ffn", c.expertHidden());
            line.put("parameters", params);
            line.put("activeParameters", active);
            line.put("weightBytes", model.weightBytes());
            line.put("promptTokens", promptTokens);
            line.put("genTokens", genTokens);
            line.put("threads", Parallel.threads());
            line.put("backend", backend);
            line.put("promptTokensPerSecond", prompt);
            line.put("genTokensPerSecond", gen);
            line.put("meanPromptTokensPerSecond", meanPrompt);
            line.put("meanGenTokensPerSecond", meanGen);
            line.put("promptTokensPerCpuSecond", promptCpu);
            line.put("genTokensPerCpuSecond", genCpu);
            line.put("lastToken", tokens[tokens.length - 1]);
            out.println(Json.line(line));
        } else {
            out.printf(Locale.ROOT, "generate vocab=%d dim=%d layers=%d heads=%d/%d experts=%d top-k=%d ffn=%d "
                    + "(%.1fM parameters, %.1fM active), %d threads, %s backend: prompt %d tokens at %.0f tokens/s "
                    + "(mean %.0f; %.0f per CPU second), generation %d tokens at %.1f tokens/s (mean %.1f; %.1f per second of the calling "
                    + "thread's CPU), best of %d; weights hold %.0f MiB%n",
                    c.vocab(), c.dModel(), c.layers(), c.heads(), c.kvHeads(), c.experts(), c.topK(),
                    c.expertHidden(), params / 1e6, active / 1e6, Parallel.threads(), backend, promptTokens, prompt,
                    meanPrompt, promptCpu, genTokens, gen, meanGen, genCpu, repeats, model.weightBytes() / 1048576.0);
        }
        out.flush();
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
