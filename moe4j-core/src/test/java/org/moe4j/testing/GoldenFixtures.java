package org.moe4j.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Reference values made by PyTorch ({@code tools/golden/make_op_fixtures.py}), read from the test resource
 * {@code golden/ops.txt}: blocks of a header line {@code tensor <case>.<name> <dims...>} (or {@code ints ...}) and
 * one line of row-major values. The file is parsed once; every lookup returns a fresh tensor, so tests may
 * modify what they get.
 */
public final class GoldenFixtures {
    private static final String RESOURCE = "/golden/ops.txt";

    private record Entry(boolean ints, int[] shape, double[] values) {}

    private final Map<String, Entry> entries; // in file order

    private GoldenFixtures(Map<String, Entry> entries) {
        this.entries = entries;
    }

    /** The fixtures of {@code golden/ops.txt}, parsed on first use. */
    public static GoldenFixtures ops() {
        return Holder.OPS;
    }

    // Lazy holder: the JVM parses the file once, thread-safely, the first time a test asks for it.
    private static final class Holder {
        static final GoldenFixtures OPS = load(RESOURCE);
    }

    /** The floating-point fixture {@code name} (e.g. "conv2d.x") in the given dtype; F32 rounds each value. */
    public Tensor tensor(String name, DType dtype) {
        Entry e = entry(name, false);
        Tensor t = Tensor.ofDoubles(e.values.clone(), e.shape);
        return dtype == DType.F64 ? t : t.to(dtype);
    }

    /** The integer fixture {@code name} (e.g. "crossentropy.targets"). */
    public IntTensor ints(String name) {
        Entry e = entry(name, true);
        int[] data = new int[e.values.length];
        for (int i = 0; i < data.length; i++) data[i] = (int) e.values[i];
        return new IntTensor(data, e.shape);
    }

    /** Whether the file holds a fixture of that name. */
    public boolean has(String name) {
        return entries.containsKey(name);
    }

    private Entry entry(String name, boolean ints) {
        Entry e = entries.get(name);
        if (e == null) {
            String prefix = name.contains(".") ? name.substring(0, name.indexOf('.') + 1) : name;
            String near = entries.keySet().stream().filter(k -> k.startsWith(prefix)).collect(Collectors.joining(", "));
            throw new IllegalArgumentException("golden fixture '" + name + "' is not in " + RESOURCE
                    + (near.isEmpty() ? "; no fixture starts with '" + prefix + "'" : "; that case has: " + near)
                    + " (regenerate with tools/golden/make_op_fixtures.py?)");
        }
        if (e.ints != ints) {
            throw new IllegalArgumentException("golden fixture '" + name + "' holds "
                    + (e.ints ? "integers; use ints()" : "floating-point values; use tensor()"));
        }
        return e;
    }

    private static GoldenFixtures load(String resource) {
        try (InputStream in = GoldenFixtures.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("test resource " + resource + " is missing");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            Map<String, Entry> entries = new LinkedHashMap<>();
            int lineNo = 0;
            String line;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] head = line.trim().split("\\s+");
                if (head.length < 2 || !(head[0].equals("tensor") || head[0].equals("ints"))) {
                    throw new IllegalStateException(resource + ":" + lineNo + ": expected 'tensor|ints <name> dims...'");
                }
                int[] shape = new int[head.length - 2];
                for (int i = 0; i < shape.length; i++) shape[i] = Integer.parseInt(head[i + 2]);
                String body = r.readLine();
                lineNo++;
                if (body == null) throw new IllegalStateException(resource + ":" + lineNo + ": values missing");
                double[] values = body.isBlank() ? new double[0]
                        : Arrays.stream(body.trim().split("\\s+")).mapToDouble(GoldenFixtures::parse).toArray();
                int numel = Arrays.stream(shape).reduce(1, Math::multiplyExact);
                if (values.length != numel) {
                    throw new IllegalStateException(resource + ":" + lineNo + ": " + head[1] + " has " + values.length
                            + " values for shape " + Arrays.toString(shape));
                }
                if (entries.put(head[1], new Entry(head[0].equals("ints"), shape, values)) != null) {
                    throw new IllegalStateException(resource + ":" + lineNo + ": duplicate fixture " + head[1]);
                }
            }
            return new GoldenFixtures(entries);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // Python's repr writes non-finite floats as inf / -inf / nan, which Double.parseDouble does not accept.
    private static double parse(String s) {
        return switch (s) {
            case "inf" -> Double.POSITIVE_INFINITY;
            case "-inf" -> Double.NEGATIVE_INFINITY;
            case "nan" -> Double.NaN;
            default -> Double.parseDouble(s);
        };
    }
}
