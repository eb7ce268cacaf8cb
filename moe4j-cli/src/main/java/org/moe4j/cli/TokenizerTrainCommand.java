package org.moe4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.tokenizer.BpeTokenizer;
import org.moe4j.io.tokenizer.BpeTrainer;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.io.tokenizer.TokenizerJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code moe4j tokenizer train}: a byte-level BPE tokenizer from a UTF-8 text file, saved as tokenizer.json. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a byte-level BPE tokenizer on a UTF-8 text and write it in Hugging Face's tokenizer.json format.")
final class TokenizerTrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "A UTF-8 text file.")
    Path data;

    @Option(names = "--vocab", required = true, paramLabel = "N",
            description = "Vocabulary size: 256 bytes, the special tokens, then merges.")
    int vocab;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where to write tokenizer.json.")
    Path out;

    @Option(names = "--special", paramLabel = "TOKEN",
            description = "A special token (repeatable; default <|bos|> <|eos|> <|pad|>).")
    List<String> specials = Tokenizer.DEFAULT_SPECIALS;

    @Override
    public Integer call() {
        int least = 256 + specials.size();
        if (vocab < least) {
            throw new ParameterException(spec.commandLine(), "--vocab " + vocab + " is below the 256 bytes plus "
                    + specials.size() + " special tokens; ask for at least " + least);
        }
        if (!Files.isRegularFile(data)) throw new Moe4jException("tokenizer train: --data " + data + " is not a file");
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new Moe4jException("tokenizer train: the directory of --out " + out + " does not exist");
        }
        PrintWriter o = spec.commandLine().getOut();
        long bytes;
        try {
            bytes = Files.size(data);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + data + ": " + e.getMessage(), e);
        }
        o.printf(Locale.ROOT, "training a BPE tokenizer of %,d ids on %s (%,d bytes)...%n", vocab, data, bytes);
        o.flush();
        long t0 = System.nanoTime();
        BpeTokenizer t = BpeTrainer.train(data, vocab, specials);
        double seconds = (System.nanoTime() - t0) / 1e9;
        TokenizerJson.write(t, out);
        String note = t.vocabSize() < vocab ? " (the text ran out of pairs to merge)" : "";
        o.printf(Locale.ROOT, "%,d ids (%,d merges, %d special) in %.1f s%s; wrote %s%n", t.vocabSize(),
                t.mergeCount(), specials.size(), seconds, note, out);
        o.flush();
        return 0;
    }
}
