package org.moe4j.io.hf;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** The checkpoints made by tools/golden/make_hf_fixtures.py, under test resources hf/<arch>/. */
final class HfFixtures {
    static final String[] ARCHS = {"mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "deepseek"};

    private HfFixtures() {}

    static Path dir(String arch) {
        URL url = HfFixtures.class.getResource("/hf/" + arch + "/config.json");
        assertNotNull(url, "test resource hf/" + arch + " is missing; run tools/golden/make_hf_fixtures.py");
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A writable copy of a fixture directory, in a fresh directory inside {@code tmp}. */
    static Path copy(String arch, Path tmp) {
        try (Stream<Path> files = Files.list(dir(arch))) {
            Path out = Files.createTempDirectory(tmp, arch);
            for (Path f : files.toList()) Files.copy(f, out.resolve(f.getFileName().toString()));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
