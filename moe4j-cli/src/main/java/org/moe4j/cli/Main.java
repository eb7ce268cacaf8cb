package org.moe4j.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.moe4j.common.Moe4jException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ExecutionException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code moe4j} command. Errors print one line, {@code moe4j: <message>}, on stderr: exit status 2 for a
 * usage error (bad flag or value), 1 for a failure while running; {@code --verbose} adds the stack trace.
 */
@Command(name = "moe4j",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "A Mixture-of-Experts engine for the JVM.",
        subcommands = {QuickstartCommand.class, TrainCommand.class, EvalCommand.class, InspectCommand.class,
                ReportCommand.class, InfoCommand.class, BenchCommand.class, GenerateCommand.class, ConvertCommand.class,
                TokenizerCommand.class, ServeCommand.class},
        usageHelpAutoWidth = true)
public final class Main implements Callable<Integer> {
    static final String VERBOSE = "--verbose";

    @Spec
    CommandSpec spec;

    // Read back through the parse result (see verbose()), so it works wherever on the line it is given.
    @Option(names = VERBOSE, scope = ScopeType.INHERIT, description = "Show stack traces of errors.")
    boolean verbose;

    /** With no command: show what there is, as a usage error. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return spec.exitCodeOnInvalidInput();
    }

    public static void main(String[] args) {
        // Checked before any command touches the Vector API, which would fail with a NoClassDefFoundError.
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            System.err.println("moe4j: the Vector API module is missing; run through ./moe4j, or add "
                    + "'--add-modules jdk.incubator.vector' to the java command");
            System.exit(1);
        }
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests call {@code execute} on it with their own out/err writers. */
    public static CommandLine commandLine() {
        CommandLine cmd = new CommandLine(new Main());
        cmd.setExecutionStrategy(Main::executeCatchingErrors);
        cmd.setParameterExceptionHandler(Main::usageError);
        cmd.setExecutionExceptionHandler(Main::runtimeError);
        return cmd;
    }

    /**
     * Picocli hands only {@link Exception}s to the execution-exception handler. A few {@link Error}s are really
     * bad input (a bad {@code -Dmoe4j.backend} fails a static initializer; a too-large model runs out of heap),
     * so they are wrapped to get the same one-line treatment.
     */
    private static int executeCatchingErrors(ParseResult parseResult) {
        try {
            return new CommandLine.RunLast().execute(parseResult);
        } catch (ExceptionInInitializerError | OutOfMemoryError e) {
            throw new ExecutionException(last(parseResult).commandSpec().commandLine(), String.valueOf(e), e);
        }
    }

    private static int usageError(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        String help = cmd.getCommandSpec().qualifiedName() + " --help";
        err.println("moe4j: " + oneLine(ex.getMessage()) + " (see '" + help + "')");
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    private static int runtimeError(Exception ex, CommandLine cmd, ParseResult parseResult) {
        Throwable cause = ex;
        if (cause instanceof ExecutionException && cause.getCause() != null) cause = cause.getCause();
        while (cause instanceof ExceptionInInitializerError && cause.getCause() != null) cause = cause.getCause();
        PrintWriter err = cmd.getErr();
        if (verbose(parseResult)) cause.printStackTrace(err);
        err.println("moe4j: " + message(cause));
        err.flush();
        return cmd.getCommandSpec().exitCodeOnExecutionException();
    }

    /** Our own exceptions carry a message meant for the user; anything else is named, with a pointer to more. */
    static String message(Throwable t) {
        if (t instanceof Moe4jException) return oneLine(t.getMessage());
        if (t instanceof OutOfMemoryError) {
            return "out of memory (" + oneLine(t.getMessage()) + "); give the JVM more heap, for example "
                    + "MOE4J_JAVA_OPTS=-Xmx8g";
        }
        return oneLine(t.toString()) + " (" + VERBOSE + " shows the stack trace)";
    }

    private static String oneLine(String s) {
        return s == null ? "(no message)" : s.strip().replaceAll("\\s*\\R\\s*", "; ");
    }

    /** True when --verbose was given to the command or any subcommand on the way to it. */
    static boolean verbose(ParseResult parseResult) {
        for (ParseResult pr = parseResult; pr != null; pr = pr.subcommand()) {
            if (pr.hasMatchedOption(VERBOSE)) return true;
        }
        return false;
    }

    private static ParseResult last(ParseResult parseResult) {
        ParseResult pr = parseResult;
        while (pr.subcommand() != null) pr = pr.subcommand();
        return pr;
    }
}
