package org.moe4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.moe4j.common.Moe4jException;
import org.moe4j.infer.HfSource;
import org.moe4j.infer.LoadedModel;
import org.moe4j.infer.ModelLoader;
import org.moe4j.io.SafetensorsDType;
import org.moe4j.io.gguf.GgufArchitecture;
import org.moe4j.io.gguf.GgufModel;
import org.moe4j.io.hf.HfCheckpoint;
import org.moe4j.io.hf.HfModel;
import org.moe4j.io.tokenizer.BpeTokenizer;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.model.TransformerLm;
import org.moe4j.tensor.QuantFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code moe4j convert}: a Hugging Face model directory or a moe4j checkpoint to a GGUF file llama.cpp runs, or a
 * GGUF file to a Hugging Face model directory. The output appears only when complete.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert between model formats: HF directory or moe4j checkpoint -> .gguf, .gguf -> HF directory.")
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--from", required = true, paramLabel = "DIR|FILE",
            description = "A Hugging Face model directory, a moe4j checkpoint or run directory, or a .gguf file.")
    Path from;

    @Option(names = "--to", required = true, paramLabel = "FILE.gguf|DIR",
            description = "A .gguf file (from a directory) or a new directory (from a .gguf file).")
    Path to;

    @Option(names = "--type", defaultValue = "f32", paramLabel = "TYPE",
            description = "Weight type: f32, f16, bf16, q8_0 or q4_0 for GGUF (norms and routers stay f32); f32 or"
                    + " bf16 for a Hugging Face directory. Default: ${DEFAULT-VALUE}.")
    String type;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!Files.exists(from)) throw new Moe4jException("convert: --from " + from + " does not exist");
        boolean fromGguf = isGguf(from);
        if (fromGguf == isGguf(to)) {
            throw new Moe4jException("convert: converts a directory to a .gguf file or a .gguf file to a directory; got"
                    + " --from " + from + " and --to " + to);
        }
        if (fromGguf) {
            toHuggingFace(out);
        } else {
            toGguf(out, err);
        }
        return 0;
    }

    private void toGguf(PrintWriter out, PrintWriter err) {
        QuantFormat format = ggufType(type);
        TransformerLm model;
        Tokenizer tokenizer;
        GgufArchitecture arch;
        if (new HfSource().recognizes(from)) {
            HfModel hf = HfCheckpoint.load(from);
            model = hf.model();
            tokenizer = hf.tokenizer().orElse(null);
            arch = GgufArchitecture.of(hf.architecture());
        } else {
            LoadedModel loaded = ModelLoader.load(from);
            model = loaded.model();
            tokenizer = loaded.tokenizer().orElse(null);
            arch = GgufArchitecture.infer(model.config());
        }
        Bar bar = new Bar(err);
        String note = GgufModel.save(model, arch, tokenizer, format, to, bar::tensor);
        bar.finish();
        out.println("wrote " + to + " (" + arch.ggufName() + ", " + type.toLowerCase(Locale.ROOT) + ", "
                + model.parameterCount() + " parameters" + (note.isEmpty() ? "" : "; " + note) + ")");
    }

    private void toHuggingFace(PrintWriter out) {
        SafetensorsDType dtype = switch (type.toLowerCase(Locale.ROOT)) {
            case "f32" -> SafetensorsDType.F32;
            case "bf16" -> SafetensorsDType.BF16;
            default -> throw new Moe4jException("convert: --type " + type + " is not written to a Hugging Face"
                    + " directory; use f32 or bf16");
        };
        if (Files.exists(to)) {
            throw new Moe4jException("convert: --to " + to + " already exists; give a new directory (it is created"
                    + " only when complete)");
        }
        GgufModel.Loaded g = GgufModel.load(from);
        // tokenizer.json holds byte-level BPE here; a GGUF SentencePiece vocabulary merges by score, which it cannot say
        Optional<BpeTokenizer> bpe = g.tokenizer().filter(BpeTokenizer.class::isInstance).map(BpeTokenizer.class::cast);
        String tokenizerNote = bpe.isPresent() ? "" : g.tokenizer().isPresent()
                ? "; the GGUF's SentencePiece vocabulary was not written (moe4j writes tokenizer.json for byte-level BPE)"
                : "; no tokenizer: " + g.tokenizerNote();
        Path parent = to.toAbsolutePath().getParent();
        Path tmp;
        try {
            Files.createDirectories(parent);
            tmp = Files.createTempDirectory(parent, to.getFileName() + ".tmp");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a directory beside " + to + ": " + e.getMessage(), e);
        }
        try {
            HfCheckpoint.save(g.model(), g.architecture().hf(), tmp, dtype, bpe.orElse(null), Long.MAX_VALUE);
            Files.move(tmp, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteTree(tmp);
            throw new UncheckedIOException("cannot move the converted model into " + to + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
        out.println("wrote " + to + " (" + g.architecture().hf().className() + ", " + type.toLowerCase(Locale.ROOT)
                + tokenizerNote + ")");
    }

    static boolean isGguf(Path p) {
        return p.getFileName() != null && p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf");
    }

    static QuantFormat ggufType(String t) {
        return switch (t.toLowerCase(Locale.ROOT)) {
            case "f32" -> QuantFormat.F32;
            case "f16" -> QuantFormat.F16;
            case "bf16" -> QuantFormat.BF16;
            case "q8_0" -> QuantFormat.Q8_0;
            case "q4_0" -> QuantFormat.Q4_0;
            default -> throw new Moe4jException("convert: --type " + t + " is not one of f32, f16, bf16, q8_0, q4_0");
        };
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the error that brought us here is the one to report
        }
    }

    /** A one-line progress bar on stderr, redrawn in place; one line per tenth when stderr is not a terminal. */
    private static final class Bar {
        private static final int WIDTH = 30;
        private final PrintWriter err;
        private final boolean interactive = System.console() != null;
        private int lastTenth = -1;
        private boolean drawn;

        Bar(PrintWriter err) {
            this.err = err;
        }

        void tensor(int done, int total, String name) {
            int filled = (int) ((long) done * WIDTH / total);
            String line = String.format(Locale.ROOT, "[%s%s] %d/%d %s", "#".repeat(filled), " ".repeat(WIDTH - filled),
                    done, total, name);
            if (interactive) {
                err.print("\r" + line + "\033[K");
                drawn = true;
            } else if (done * 10 / total != lastTenth) {
                lastTenth = done * 10 / total;
                err.println(line);
            }
            err.flush();
        }

        void finish() {
            if (drawn) err.println();
            err.flush();
        }
    }
}
