package org.moe4j.io;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/**
 * Mutates valid files (seeded, so a failure reproduces) and accepts only two outcomes: the file still reads, or
 * it is refused with a FileFormatException. Anything else (an index error, an out-of-memory, a hang) is a bug.
 */
class SafetensorsFuzzTest {
    private static final int INPUTS = 2_000;
    private static final byte[] JSON_BYTES = "{}[]\":,-.e0123456789 ".getBytes(StandardCharsets.US_ASCII);

    private static byte[] encode(Map<String, Tensor> tensors, Map<String, String> meta, SafetensorsDType type) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Safetensors.write(Channels.newChannel(out), tensors, meta, type);
        return out.toByteArray();
    }

    private static List<byte[]> seeds() throws IOException {
        Rng rng = new Rng(11);
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("w", TestData.randn(rng, 3, 5));
        t.put("b", TestData.randn(rng, 5));
        t.put("e", Tensor.zeros(0, 2));
        t.put("s", Tensor.scalar(1f));
        List<byte[]> seeds = new ArrayList<>();
        seeds.add(encode(t, Map.of("format", "pt"), null));
        seeds.add(encode(t, Map.of(), SafetensorsDType.BF16));
        seeds.add(encode(Map.of("x", TestData.randn(rng, 2, 2, 2)), Map.of("k", "v"), SafetensorsDType.F16));
        seeds.add(encode(Map.of("d", TestData.randn64(rng, 3)), Map.of(), null));
        return seeds;
    }

    private static long headerEnd(byte[] b) {
        return 8 + ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    /** One random edit of the kinds that break parsers: bytes, JSON punctuation, lengths, truncation, splices. */
    private static byte[] mutate(byte[] seed, Rng rng) {
        byte[] b = seed.clone();
        int headerEnd = (int) Math.min(headerEnd(seed), b.length);
        switch (rng.nextInt(7)) {
            case 0 -> { // random bytes anywhere
                for (int k = 1 + rng.nextInt(4); k > 0; k--) b[rng.nextInt(b.length)] = (byte) rng.nextInt(256);
            }
            case 1 -> { // JSON punctuation and digits inside the header
                for (int k = 1 + rng.nextInt(3); k > 0; k--) {
                    b[8 + rng.nextInt(headerEnd - 8)] = JSON_BYTES[rng.nextInt(JSON_BYTES.length)];
                }
            }
            case 2 -> { // the length field: off by a little, or anything
                ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
                long len = bb.getLong(0);
                bb.putLong(0, rng.bernoulli(0.5) ? len + rng.nextInt(17) - 8 : rng.nextLong());
            }
            case 3 -> b = Arrays.copyOf(b, rng.nextInt(b.length)); // truncation
            case 4 -> { // appended bytes
                b = Arrays.copyOf(b, b.length + 1 + rng.nextInt(16));
            }
            case 5 -> { // a digit run in the header replaced by a large or negative number
                int at = 8 + rng.nextInt(headerEnd - 8);
                byte[] num = (rng.bernoulli(0.5) ? "-1" : Long.toString(rng.nextLong() >>> rng.nextInt(64))).getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; i < num.length && at + i < headerEnd; i++) b[at + i] = num[i];
            }
            default -> { // a slice of the header copied over another place in it
                int len = 1 + rng.nextInt(24);
                int from = 8 + rng.nextInt(Math.max(1, headerEnd - 8 - len));
                int to = 8 + rng.nextInt(Math.max(1, headerEnd - 8 - len));
                System.arraycopy(seed, from, b, to, Math.min(len, b.length - to));
            }
        }
        return b;
    }

    @Test
    void mutatedFilesReadOrFailCleanly() throws IOException {
        List<byte[]> seeds = seeds();
        for (byte[] seed : seeds) { // the seeds are valid, and parsing them first loads the classes before timing
            try (SafetensorsFile f = SafetensorsFile.parse(seed, "seed")) {
                f.readAll();
            }
        }
        Rng rng = new Rng(20240601);
        int accepted = 0;
        long slowestNanos = 0;
        long start = System.nanoTime();
        for (int i = 0; i < INPUTS; i++) {
            byte[] input = mutate(seeds.get(i % seeds.size()), rng);
            long t0 = System.nanoTime();
            try (SafetensorsFile f = SafetensorsFile.parse(input, "fuzz#" + i)) {
                for (SafetensorsEntry e : f.entries()) {
                    if (e.dtype().readable()) f.tensor(e.name());
                }
                accepted++;
            } catch (FileFormatException expected) {
                // the clean refusal
            } catch (Throwable t) {
                fail("input " + i + " (seed 20240601) raised " + t + " instead of a FileFormatException", t);
            }
            slowestNanos = Math.max(slowestNanos, System.nanoTime() - t0);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("safetensors fuzz: %d inputs, %d still valid, %.2f s, slowest %.1f ms%n",
                INPUTS, accepted, seconds, slowestNanos / 1e6);
        assertTrue(slowestNanos < 1_000_000_000L, "one input took " + slowestNanos / 1e6 + " ms");
        assertTrue(accepted > 0 && accepted < INPUTS, "mutations should both keep and break files: " + accepted);
    }
}
