package org.moe4j.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code moe4j bench}: the parent of the benchmark commands; each prints text or one JSON line. */
@Command(name = "bench", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Measure kernel and model speed. Use --json for one machine-readable line per run.",
        subcommands = {BenchMatmulCommand.class, BenchMoeCommand.class, BenchGenerateCommand.class, BenchServeCommand.class})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** With no benchmark named: list them, as a usage error. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return spec.exitCodeOnInvalidInput();
    }
}
