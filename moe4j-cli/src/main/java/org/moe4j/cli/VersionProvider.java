package org.moe4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** The version comes from the Maven project version, written into a resource when the jar is built. */
public final class VersionProvider implements IVersionProvider {
    private static final String RESOURCE = "version.properties";

    /** The project version, e.g. {@code 0.1.0-SNAPSHOT}. */
    public static String version() {
        try (InputStream in = VersionProvider.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException(RESOURCE + " is missing from the moe4j-cli jar");
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "");
            // An unfiltered placeholder means the resource was copied without Maven's filtering.
            if (v.isBlank() || v.startsWith("${")) throw new IllegalStateException(RESOURCE + " was not filtered: " + v);
            return v;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String[] getVersion() {
        return new String[] {"moe4j " + version()};
    }
}
