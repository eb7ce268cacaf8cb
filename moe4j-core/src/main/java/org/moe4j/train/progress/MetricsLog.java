package org.moe4j.train.progress;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.moe4j.common.Moe4jException;

/**
 * The JSONL metrics log: one JSON object per line, each line handed to the operating system as soon as it is
 * written, so that an interrupted run keeps every complete line. A killed process can leave at most one partial
 * last line; reopening cuts it off before appending, and the reader ignores it.
 */
public final class MetricsLog implements AutoCloseable {
    private final Path path;
    private final FileChannel channel;

    private MetricsLog(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /** A new, empty log at {@code path}, replacing any file there (a fresh run). */
    public static MetricsLog create(Path path) {
        try {
            createParent(path);
            return new MetricsLog(path, FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING));
        } catch (IOException e) {
            throw failure("cannot create", path, e);
        }
    }

    /** Appends to the log at {@code path} (created if absent), after cutting off a partial last line. */
    public static MetricsLog append(Path path) {
        try {
            createParent(path);
            FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                long end = completeLength(ch);
                ch.truncate(end);
                ch.position(end);
                return new MetricsLog(path, ch);
            } catch (IOException e) {
                ch.close();
                throw e;
            }
        } catch (IOException e) {
            throw failure("cannot open", path, e);
        }
    }

    /**
     * Continues the log of a run resumed from the checkpoint taken after {@code step}: records written after that
     * step (the steps the resumed run will repeat) and any summary are removed, so that the log reads as one run.
     * The shortened log replaces the old one atomically.
     */
    public static MetricsLog resume(Path path, long step) {
        if (!Files.exists(path)) return append(path);
        List<String> kept = new ArrayList<>();
        List<String> lines = completeLines(path);
        for (int i = 0; i < lines.size(); i++) {
            MetricsRecord r = parse(path, i + 1, lines.get(i));
            boolean keep = r == null || (!(r instanceof MetricsRecord.Summary) && r.step() <= step);
            if (keep) kept.add(lines.get(i));
        }
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            StringBuilder sb = new StringBuilder();
            for (String line : kept) sb.append(line).append('\n');
            writeFully(ch, ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        } catch (IOException e) {
            throw failure("cannot rewrite", tmp, e);
        }
        try {
            try {
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw failure("cannot replace", path, e);
        }
        return append(path);
    }

    public Path path() {
        return path;
    }

    /** Writes one record as one line. */
    public synchronized void write(MetricsRecord record) {
        byte[] line = (MetricsJson.toJson(record) + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            // One write of the whole line: a crash can cut it short but never interleave it with another.
            writeFully(channel, ByteBuffer.wrap(line));
        } catch (IOException e) {
            throw failure("cannot write to", path, e);
        }
    }

    /** Forces the written lines to the disk (the trainer calls it beside each checkpoint). */
    public synchronized void sync() {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw failure("cannot sync", path, e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw failure("cannot close", path, e);
        }
    }

    /** Every complete record in the log, in order; a partial last line is ignored, unknown record types skipped. */
    public static List<MetricsRecord> readRecords(Path path) {
        List<MetricsRecord> out = new ArrayList<>();
        List<String> lines = completeLines(path);
        for (int i = 0; i < lines.size(); i++) {
            MetricsRecord r = parse(path, i + 1, lines.get(i));
            if (r != null) out.add(r);
        }
        return out;
    }

    /** The log read back and sorted by kind, for the report. */
    public static MetricsHistory read(Path path) {
        return MetricsHistory.of(readRecords(path));
    }

    private static MetricsRecord parse(Path path, int lineNumber, String line) {
        try {
            return MetricsJson.fromJson(line);
        } catch (IllegalArgumentException e) {
            throw new Moe4jException("metrics log " + path + " line " + lineNumber + " is not a metrics record ("
                    + e.getMessage() + "); was the file written by moe4j?", e);
        }
    }

    /** The log's lines up to the last newline, blank lines dropped. */
    private static List<String> completeLines(Path path) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw failure("cannot read", path, e);
        }
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') end--;
        List<String> lines = new ArrayList<>();
        for (String line : new String(bytes, 0, end, StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) lines.add(line);
        }
        return lines;
    }

    /** The length of the file up to and including its last newline. */
    private static long completeLength(FileChannel ch) throws IOException {
        long size = ch.size();
        ByteBuffer buf = ByteBuffer.allocate(4096);
        long pos = size;
        while (pos > 0) {
            int n = (int) Math.min(buf.capacity(), pos);
            buf.clear().limit(n);
            long from = pos - n;
            while (buf.hasRemaining()) {
                if (ch.read(buf, from + buf.position()) < 0) throw new IOException("file shrank while reading");
            }
            for (int i = n - 1; i >= 0; i--) {
                if (buf.get(i) == '\n') return from + i + 1;
            }
            pos = from;
        }
        return 0;
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    private static void createParent(Path path) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
    }

    private static Moe4jException failure(String what, Path path, IOException e) {
        return new Moe4jException("metrics log: " + what + " " + path + ": " + e.getMessage(), e);
    }
}
