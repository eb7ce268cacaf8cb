package org.moe4j.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.BiFunction;

/** Read-only memory mapping of a whole file, for the file formats that use their weights in place. */
public final class MappedFile {
    private MappedFile() {}

    /**
     * Maps {@code file} into a fresh shared arena and gives the arena (which then belongs to the result) and the
     * mapping to {@code reader}; when reading or checking fails, the arena is closed so nothing stays mapped.
     */
    public static <T> T open(Path file, BiFunction<Arena, MemorySegment, T> reader) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return reader.apply(arena, whole);
        } catch (IOException e) {
            arena.close();
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }
}
