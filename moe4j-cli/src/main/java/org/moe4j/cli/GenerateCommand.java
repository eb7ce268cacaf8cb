package org.moe4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.moe4j.infer.FinishReason;
import org.moe4j.infer.GenerationListener;
import org.moe4j.infer.GenerationOptions;
import org.moe4j.infer.GenerationResult;
import org.moe4j.infer.Generator;
import org.moe4j.infer.InvalidRequestException;
import org.moe4j.infer.LoadedModel;
import org.moe4j.infer.ModelLoader;
import org.moe4j.infer.SamplingParams;
import org.moe4j.tensor.Tensor;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code moe4j generate}: text (or token ids) from a language model. The output goes to stdout, a one-line
 * summary of speeds and why it stopped to stderr.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate from a language model: greedy at temperature 0; the same seed gives the same tokens.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true,
            description = "A checkpoint or run directory (its latest), a Hugging Face model directory, or a .gguf file.")
    Path model;

    static final class Prompt {
        @Option(names = "--prompt", required = true, description = "The prompt text (needs a model with a tokenizer).")
        String text;

        @Option(names = "--prompt-ids", required = true, split = ",", paramLabel = "ID[,ID...]",
                description = "The prompt as token ids, e.g. 1,87,107; the output is then ids too.")
        int[] ids;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompt prompt;

    @Option(names = "--max-tokens", defaultValue = "64", description = "Most tokens to generate (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 is greedy (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the K most likely tokens; 0 keeps all.")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus mass in (0, 1]; 1 keeps all.")
    double topP;

    @Option(names = "--min-p", defaultValue = "0", description = "Keep tokens at least P times the most likely; 0 keeps all.")
    double minP;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the draws (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop", description = "A string that ends generation (repeatable, up to 4).")
    List<String> stop = List.of();

    @Option(names = "--ignore-eos", description = "Go on after the end-of-sequence token.")
    boolean ignoreEos;

    @Option(names = "--stream", description = "Print tokens as they are generated.")
    boolean stream;

    @Option(names = "--dump-logits", paramLabel = "FILE",
            description = "Write the logits of every prompt position, float32 little-endian [positions, vocab], and FILE.json.")
    Path dumpLogits;

    @Override
    public Integer call() {
        GenerationOptions options;
        try {
            options = new GenerationOptions(maxTokens, new SamplingParams(temperature, topK, topP, minP, seed), stop,
                    ignoreEos);
        } catch (InvalidRequestException e) {
            throw usage(e);
        }
        LoadedModel loaded = ModelLoader.load(model);
        Generator generator = Generator.of(loaded);
        boolean idsOut = prompt.ids != null || loaded.tokenizer().isEmpty();
        int[] ids;
        try {
            ids = prompt.ids != null ? prompt.ids : generator.encode(prompt.text);
        } catch (InvalidRequestException e) {
            throw usage(e);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (dumpLogits != null) dump(generator, ids);
        GenerationListener listener = !stream ? null : new GenerationListener() {
            private boolean first = true;

            @Override
            public void onToken(int id, String delta) {
                if (idsOut) {
                    out.print((first ? "" : ",") + id);
                    first = false;
                } else {
                    out.print(delta);
                }
                out.flush();
            }

            @Override
            public void onFinish(String trailing, FinishReason reason) {
                if (!idsOut) out.print(trailing);
                out.println();
                out.flush();
            }
        };
        GenerationResult r;
        try {
            r = generator.generate(ids, options, listener);
        } catch (InvalidRequestException e) {
            throw usage(e);
        }
        if (!stream) out.println(idsOut ? join(r.ids()) : r.text());
        out.flush();
        err.printf(Locale.ROOT, "[%d prompt tokens at %.1f tokens/s; %d generated at %.1f tokens/s; finished: %s]%n",
                r.promptTokens(), r.promptTokensPerSecond(), r.generatedTokens(), r.generationTokensPerSecond(),
                r.finishReason().name().toLowerCase(Locale.ROOT));
        err.flush();
        return 0;
    }

    /** A bad request parameter as a usage error that names the flag. */
    private ParameterException usage(InvalidRequestException e) {
        String flag = "--" + e.parameter().replace('_', '-');
        return new ParameterException(spec.commandLine(), flag + ": " + e.getMessage().substring(e.parameter().length() + 2));
    }

    private static String join(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    /** The prompt's logits as raw float32 little-endian, and a one-line JSON sidecar with the shape and ids. */
    private void dump(Generator generator, int[] ids) {
        Tensor logits;
        try {
            logits = generator.promptLogits(ids).contiguous();
        } catch (InvalidRequestException e) {
            throw usage(e);
        }
        float[] data = logits.floats();
        int n = logits.numel(), off = logits.offset();
        ByteBuffer buf = ByteBuffer.allocate(Math.multiplyExact(n, Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) buf.putFloat(data[off + i]);
        ObjectNode side = Json.object();
        ArrayNode shape = side.putArray("shape");
        shape.add(logits.dim(0)).add(logits.dim(1));
        side.put("dtype", "float32");
        side.put("byte_order", "little");
        ArrayNode tokens = side.putArray("token_ids");
        for (int id : ids) tokens.add(id);
        Path sidecar = dumpLogits.resolveSibling(dumpLogits.getFileName() + ".json");
        try (OutputStream o = Files.newOutputStream(dumpLogits)) {
            o.write(buf.array());
            Files.writeString(sidecar, Json.line(side) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dumpLogits + ": " + e.getMessage(), e);
        }
    }
}
