package org.moe4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.moe4j.kernel.Backend;
import org.moe4j.kernel.Parallel;
import org.moe4j.kernel.VectorSelfTest;
import org.moe4j.moe.RouterInfo;
import org.moe4j.moe.Routers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code moe4j info}: the JVM, the machine, the kernel backend, and whether the Vector API really is fast here. */
@Command(name = "info", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Show the JVM, the machine and the kernel backend, and run a short Vector API self-test.",
                "Warns when the vector path is not clearly faster than scalar code (the Vector API is then not "
                        + "compiled to SIMD instructions)."})
final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Option(names = "--routers", description = "List the routers (name, paper, summary) instead of the machine.")
    boolean routers;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (routers) {
            printRouters(out);
            return 0;
        }
        VectorSelfTest.Result self = VectorSelfTest.run();
        ObjectNode info = collect(self);
        if (json) {
            out.println(Json.line(info));
        } else {
            printText(out, info, self);
        }
        out.flush();
        if (!self.clearlyFaster()) {
            PrintWriter err = spec.commandLine().getErr();
            err.printf(Locale.ROOT, "moe4j: warning: the Vector API path is only %.2fx as fast as the scalar loop "
                    + "(expected %.0fx or more), so it is probably not compiled to SIMD instructions (interpreted, "
                    + "C2 disabled, -XX:TieredStopAtLevel below 4, or a very busy machine); kernels will be slow%n",
                    self.speedup(), VectorSelfTest.CLEARLY_FASTER);
            err.flush();
        }
        return 0;
    }

    /** The router catalog, in the order of {@link Routers#all()}: the names {@code bench moe --router} takes. */
    private void printRouters(PrintWriter out) {
        if (json) {
            ObjectNode root = Json.object();
            ArrayNode list = root.putArray("routers");
            for (RouterInfo r : Routers.all()) {
                ObjectNode entry = list.addObject();
                entry.put("name", r.name());
                entry.put("paper", r.paper());
                entry.put("summary", r.summary());
            }
            out.println(Json.line(root));
        } else {
            int width = Routers.all().stream().mapToInt(r -> r.name().length()).max().orElse(0) + 2;
            String indent = " ".repeat(width);
            for (RouterInfo r : Routers.all()) {
                out.printf(Locale.ROOT, "%-" + width + "s%s%n%s%s%n", r.name(), r.paper(), indent, r.summary());
            }
        }
        out.flush();
    }

    private static ObjectNode collect(VectorSelfTest.Result self) {
        ObjectNode info = Json.object();
        info.put("moe4j", VersionProvider.version());
        ObjectNode jvm = info.putObject("jvm");
        jvm.put("vendor", System.getProperty("java.vendor"));
        jvm.put("version", System.getProperty("java.version"));
        jvm.put("vm", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
        ObjectNode os = info.putObject("os");
        os.put("name", System.getProperty("os.name"));
        os.put("version", System.getProperty("os.version"));
        os.put("arch", System.getProperty("os.arch"));
        info.put("cores", Runtime.getRuntime().availableProcessors());
        info.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
        ObjectNode vector = info.putObject("vector");
        vector.put("bits", Backend.FLOATS.vectorBitSize());
        vector.put("floatLanes", Backend.FLOATS.length());
        info.put("backend", Backend.current().name().toLowerCase(Locale.ROOT));
        info.put("backendDescription", Backend.describe());
        info.put("threads", Parallel.threads());
        ObjectNode test = info.putObject("selfTest");
        test.put("floats", self.length());
        test.put("scalarGflops", round(self.scalarGflops()));
        test.put("vectorGflops", round(self.vectorGflops()));
        test.put("speedup", round(self.speedup()));
        test.put("clearlyFaster", self.clearlyFaster());
        test.put("warmupMs", self.warmup().toMillis());
        return info;
    }

    private static void printText(PrintWriter out, ObjectNode info, VectorSelfTest.Result self) {
        ObjectNode jvm = (ObjectNode) info.get("jvm");
        ObjectNode os = (ObjectNode) info.get("os");
        out.printf(Locale.ROOT, "moe4j     %s%n", info.get("moe4j").asText());
        out.printf(Locale.ROOT, "jvm       %s %s, %s%n",
                jvm.get("vendor").asText(), jvm.get("version").asText(), jvm.get("vm").asText());
        out.printf(Locale.ROOT, "os        %s %s, %s, %d cores%n",
                os.get("name").asText(), os.get("version").asText(), os.get("arch").asText(), info.get("cores").asInt());
        out.printf(Locale.ROOT, "heap      %.1f GiB max%n", info.get("maxHeapBytes").asLong() / (double) (1L << 30));
        out.printf(Locale.ROOT, "vector    %d-bit preferred species, %d float lanes%n", self.bits(), self.lanes());
        out.printf(Locale.ROOT, "backend   %s%n", Backend.describe());
        out.printf(Locale.ROOT, "threads   %d (set with --threads on computing commands, or -Dmoe4j.threads)%n",
                Parallel.threads());
        out.printf(Locale.ROOT, "selftest  dot product of %d floats: scalar %.2f GFLOP/s, vector %.2f GFLOP/s, %.1fx "
                + "(after %d ms warm-up)%n", self.length(), self.scalarGflops(), self.vectorGflops(), self.speedup(),
                self.warmup().toMillis());
    }

    /** Three decimals are plenty for a throughput, and keep the JSON readable. */
    static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }
}
