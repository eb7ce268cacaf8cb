package org.moe4j.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code moe4j tokenizer}: the parent of the tokenizer commands. */
@Command(name = "tokenizer", mixinStandardHelpOptions = true, description = "Train tokenizers.",
        subcommands = {TokenizerTrainCommand.class})
final class TokenizerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** With no command named: list them, as a usage error. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return spec.exitCodeOnInvalidInput();
    }
}
