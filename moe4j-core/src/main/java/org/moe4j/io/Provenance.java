package org.moe4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.Properties;
import org.moe4j.kernel.Backend;
import org.moe4j.kernel.Parallel;

/**
 * Where a checkpoint came from, saved in {@code provenance.json}: what a reader needs to reproduce it or to
 * explain why a rerun differs (the seed, the data, the code, the JVM, the vector width and thread count, which
 * change floating-point results).
 *
 * @param dataHash    a hash of the training data, as the caller computes it (e.g. SHA-256 of the files)
 * @param codeVersion moe4j's version, from the build
 * @param timestamp   when the checkpoint was written, ISO-8601 UTC
 */
public record Provenance(long seed, String dataHash, String codeVersion, String javaVersion, String javaVendor,
        String javaVm, String os, String arch, String vectorSpecies, int floatLanes, String backend, int threads,
        String timestamp) {

    /** The provenance of the running process now. */
    public static Provenance capture(long seed, String dataHash) {
        return new Provenance(seed, dataHash, buildVersion(), System.getProperty("java.version"),
                System.getProperty("java.vendor"), System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"),
                System.getProperty("os.name") + " " + System.getProperty("os.version"), System.getProperty("os.arch"),
                Backend.FLOATS.toString(), Backend.FLOATS.length(), Backend.current().name(), Parallel.threads(),
                Instant.now().toString());
    }

    /** moe4j's version, filtered into a resource by the build; "unknown" when run from unfiltered classes. */
    public static String buildVersion() {
        try (InputStream in = Provenance.class.getResourceAsStream("build.properties")) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "");
            return v.isBlank() || v.startsWith("${") ? "unknown" : v;
        } catch (IOException e) {
            return "unknown";
        }
    }
}
