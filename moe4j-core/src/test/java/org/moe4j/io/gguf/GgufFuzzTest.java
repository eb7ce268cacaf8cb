package org.moe4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;

/**
 * Seeded mutations of valid files (ours and ggml's): the parser may accept a mutant or refuse it with
 * GgufFormatException, and nothing else: any other throwable, or one input taking over a second, fails.
 */
class GgufFuzzTest {
    private static final int INPUTS = 12_000;
    private static final long[] EXTREMES = {0, 1, -1, 31, 32, 33, 255, 1L << 31, (1L << 32) - 1, 1L << 32,
            Long.MAX_VALUE, Long.MIN_VALUE, 1L << 62};

    @Test
    void mutantsRaiseOnlyCleanErrors() {
        List<byte[]> seeds = List.of(GgufRoundTripTest.sample(32).toBytes(), GgufRoundTripTest.sample(1).toBytes(),
                GgufGoldenTest.resource("ggml_written.gguf"));
        Rng rng = new Rng(20260607);
        int[] outcomes = new int[2]; // accepted, refused
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            for (int i = 0; i < INPUTS; i++) {
                byte[] seed = seeds.get(i % seeds.size());
                byte[] input = mutate(seed, rng);
                long start = System.nanoTime();
                try (GgufFile g = GgufFile.parse(input, "fuzz-" + i)) {
                    touch(g);
                    outcomes[0]++;
                } catch (GgufFormatException e) {
                    outcomes[1]++;
                } catch (Throwable t) {
                    throw new AssertionError("input " + i + " raised " + t, t);
                }
                long ms = (System.nanoTime() - start) / 1_000_000;
                if (ms > 1000) throw new AssertionError("input " + i + " took " + ms + " ms");
            }
        });
        assertTrue(outcomes[0] > 100 && outcomes[1] > 100, "accepted " + outcomes[0] + ", refused " + outcomes[1]);
    }

    /** Everything a loader would do with an accepted file. */
    private static void touch(GgufFile g) {
        g.metadata().values().forEach(String::valueOf);
        for (GgufTensorInfo t : g.tensors()) {
            g.segment(t.name());
            if (t.type().format() != null) g.tensor(t.name());
        }
    }

    private static byte[] mutate(byte[] seed, Rng rng) {
        byte[] b = seed.clone();
        int edits = 1 + rng.nextInt(4);
        for (int e = 0; e < edits; e++) {
            switch (rng.nextInt(6)) {
                case 0 -> b[rng.nextInt(b.length)] ^= (byte) (1 << rng.nextInt(8)); // flip a bit
                case 1 -> b[rng.nextInt(b.length)] = (byte) rng.nextInt(256); // a random byte
                case 2 -> { // an extreme 64-bit value at a random place (lengths, counts, dims, offsets)
                    int at = rng.nextInt(Math.max(1, b.length - 8));
                    long v = EXTREMES[rng.nextInt(EXTREMES.length)];
                    for (int k = 0; k < 8 && at + k < b.length; k++) b[at + k] = (byte) (v >>> (8 * k));
                }
                case 3 -> { // an extreme 32-bit value (types, n_dims, alignment)
                    int at = rng.nextInt(Math.max(1, b.length - 4));
                    long v = EXTREMES[rng.nextInt(EXTREMES.length)];
                    for (int k = 0; k < 4 && at + k < b.length; k++) b[at + k] = (byte) (v >>> (8 * k));
                }
                case 4 -> b = Arrays.copyOf(b, rng.nextInt(b.length + 1)); // truncate
                default -> { // cut a slice out
                    if (b.length > 2) {
                        int from = rng.nextInt(b.length - 1);
                        int len = 1 + rng.nextInt(Math.min(16, b.length - from - 1) + 1);
                        byte[] c = new byte[b.length - Math.min(len, b.length - from)];
                        System.arraycopy(b, 0, c, 0, from);
                        System.arraycopy(b, from + (b.length - c.length), c, from, c.length - from);
                        b = c;
                    }
                }
            }
            if (b.length == 0) break;
        }
        return b;
    }
}
