package org.moe4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.model.TransformerLm;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.Tensor;

/**
 * moe4j against llama.cpp itself on the same GGUF files: a random model of each architecture (sizes that fill Q8_0
 * blocks), written by moe4j as F32 and Q8_0, run by llama.cpp's tools/llamacpp/logits.c with an f32 KV cache and
 * without flash attention (which would round K and V to f16).
 * tools/golden/make_llamacpp_fixtures.sh writes the files (through {@link #main}) and stores llama.cpp's logits and
 * greedy tokens under test resources llamacpp/; without those fixtures the test is skipped.
 */
class LlamaCppGoldenTest {
    static final int[] PROMPT = {1, 5, 9, 2, 7, 3, 11, 4};
    static final QuantFormat[] TYPES = {QuantFormat.F32, QuantFormat.Q8_0};

    static String name(GgufArchitecture arch, QuantFormat type) {
        return arch.ggufName() + "-" + type.toString().toLowerCase(java.util.Locale.ROOT);
    }

    /** The model files of the fixtures: {@code java ... LlamaCppGoldenTest DIR} writes them into DIR. */
    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        for (GgufArchitecture arch : GgufArchitecture.values()) {
            TransformerLm model = GgufModelTest.randomModel(arch, 42);
            for (QuantFormat type : TYPES) {
                GgufModel.save(model, arch, null, type, dir.resolve(name(arch, type) + ".gguf"), GgufModel.Progress.NONE);
            }
        }
    }

    static Path fixture(String name) {
        URL url = LlamaCppGoldenTest.class.getResource("/llamacpp/" + name + "/logits.f32");
        Assumptions.assumeTrue(url != null, "no llama.cpp fixture " + name + "; run tools/golden/make_llamacpp_fixtures.sh");
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void logitsAndGreedyTokensAgreeWithLlamaCpp(@TempDir Path tmp) throws IOException {
        fixture(name(GgufArchitecture.LLAMA, QuantFormat.F32));
        main(new String[] {tmp.toString()});
        StringBuilder report = new StringBuilder();
        java.util.List<org.junit.jupiter.api.function.Executable> checks = new java.util.ArrayList<>();
        for (GgufArchitecture arch : GgufArchitecture.values()) {
            for (QuantFormat type : TYPES) {
                String name = name(arch, type);
                Path fx = fixture(name);
                GgufModel.Loaded loaded = GgufModel.load(tmp.resolve(name + ".gguf"));
                Tensor got = GgufModelTest.logits(loaded.model(), PROMPT);
                float[] want = floats(fx.resolve("logits.f32"));
                float[] g = got.toFloatArray();
                assertTrue(want.length == g.length, name + ": " + want.length + " llama.cpp logits, moe4j " + g.length);
                double scale = 0, err = 0;
                for (float v : want) scale = Math.max(scale, Math.abs(v));
                for (int i = 0; i < g.length; i++) err = Math.max(err, Math.abs(g[i] - want[i]));
                double relative = err / scale;
                int[] greedy = Arrays.stream(Files.readString(fx.resolve("greedy.txt")).strip().split(","))
                        .mapToInt(Integer::parseInt).toArray();
                int[] ours = GgufGreedy.greedy(loaded.model(), PROMPT, greedy.length);
                report.append(String.format("%s: max |diff| / max |logit| = %.2e, greedy %s%n", name, relative,
                        Arrays.equals(greedy, ours) ? "identical" : Arrays.toString(greedy) + " vs " + Arrays.toString(ours)));
                // F32: measured 2e-7..4.4e-7 (float rounding; the issue asks 1e-4) since logits.c turned llama.cpp's
                // flash attention off, which had cast K and V to f16 (3e-4..6.3e-4 before);
                // Q8_0 against moe4j's dequantized model: llama.cpp also rounds the activations to Q8_0 (1e-2..1.6e-2)
                double tol = type == QuantFormat.F32 ? 1e-5 : 3e-2;
                checks.add(() -> assertTrue(relative < tol, name + ": relative difference " + relative + " over " + tol));
                if (type == QuantFormat.F32) checks.add(() -> assertArrayEquals(greedy, ours, name + " greedy"));
            }
        }
        System.out.print(report);
        org.junit.jupiter.api.Assertions.assertAll(report.toString(), checks.stream());
    }

    static float[] floats(Path file) {
        try {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            float[] out = new float[b.remaining() / 4];
            b.asFloatBuffer().get(out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
