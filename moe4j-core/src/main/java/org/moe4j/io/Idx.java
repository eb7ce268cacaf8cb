package org.moe4j.io;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;

/**
 * The IDX format of MNIST and Fashion-MNIST: a 4-byte magic {@code 00 00 <type> <rank>}, then {@code rank}
 * big-endian unsigned 32-bit dimensions, then the values, big-endian, row-major. Files may be gzip-compressed,
 * as they are distributed; compression is detected from the first two bytes ({@code 1f 8b}), not the file name.
 *
 * <p>The input is untrusted. Every size is computed with {@code Math.multiplyExact}; a header that declares more
 * values than a tensor can hold (2^31-1) or than the file can contain is rejected before anything is allocated;
 * a stream that ends early is reported as truncated, with how far it got. Each problem raises a
 * {@link DataFormatException} naming the file, the field and the fix.
 *
 * <p>Trailing data: an IDX file must end exactly where its header says. Extra bytes after the last value are an
 * error, because they nearly always mean the header's dims do not describe the file (a wrong or damaged file), and
 * silently ignoring them would train on the wrong shape. (Bytes after the end of a gzip stream are ignored, as
 * {@code gunzip} and {@link GZIPInputStream} do.)
 *
 * <p>Reading streams: the file is read once, in chunks, and each value is converted straight into the output
 * array; nothing is loaded twice.
 */
public final class Idx {
    private Idx() {}

    /** The largest factor by which deflate can expand data: it bounds what a gzip file of known size can hold. */
    private static final long MAX_DEFLATE_RATIO = 1032;
    private static final int CHUNK = 1 << 16; // a multiple of every value size
    private static final String REDOWNLOAD = "check that the file is complete and not damaged: download it again";

    /** The IDX value types, with their type codes and sizes in bytes. */
    public enum Type {
        UBYTE(0x08, 1),
        BYTE(0x09, 1),
        SHORT(0x0B, 2),
        INT(0x0C, 4),
        FLOAT(0x0D, 4),
        DOUBLE(0x0E, 8);

        private final int code;
        private final int size;

        Type(int code, int size) {
            this.code = code;
            this.size = size;
        }

        public int code() {
            return code;
        }

        /** Bytes per value. */
        public int size() {
            return size;
        }

        public boolean isInteger() {
            return this != FLOAT && this != DOUBLE;
        }

        /** The type with this code, or null. */
        static Type ofCode(int code) {
            for (Type t : values()) if (t.code == code) return t;
            return null;
        }
    }

    /** A parsed header: the value type and the dimensions, e.g. {@code UBYTE [60000, 28, 28]}. */
    public record Header(Type type, int[] dims) {
        public Header {
            dims = dims.clone();
        }

        @Override
        public int[] dims() {
            return dims.clone();
        }

        public int numel() {
            return Shapes.numel(dims);
        }

        /** Bytes of the header itself: the magic and one 4-byte word per dimension. */
        public int headerBytes() {
            return 4 + 4 * dims.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Header h && h.type == type && Arrays.equals(h.dims, dims);
        }

        @Override
        public int hashCode() {
            return 31 * type.hashCode() + Arrays.hashCode(dims);
        }

        @Override
        public String toString() {
            return type + " " + Arrays.toString(dims);
        }
    }

    // ---- reading ---------------------------------------------------------------------------------------------

    /** Only the header of {@code file}. */
    public static Header readHeader(Path file) {
        try (Source src = Source.open(file)) {
            return src.header();
        } catch (IOException e) {
            throw ioFailure(file.toString(), e);
        }
    }

    /** All values of {@code file} as a float tensor with the file's dims (integers converted exactly up to 2^24). */
    public static Tensor readFloats(Path file) {
        return readFloats(file, 1.0);
    }

    /**
     * All values of {@code file}, each multiplied by {@code scale} (in double, then rounded to float), as a float
     * tensor with the file's dims. {@code scale = 1.0 / 255} turns unsigned-byte pixels into [0, 1] exactly at
     * both ends.
     */
    public static Tensor readFloats(Path file, double scale) {
        try (Source src = Source.open(file)) {
            return src.readFloats(scale);
        } catch (IOException e) {
            throw ioFailure(file.toString(), e);
        }
    }

    /** Like {@link #readFloats(Path, double)}, from a stream (plain or gzip); {@code name} is used in messages. */
    public static Tensor readFloats(InputStream in, String name, double scale) {
        try (Source src = Source.open(in, name)) {
            return src.readFloats(scale);
        } catch (IOException e) {
            throw ioFailure(name, e);
        }
    }

    /** All values of {@code file}, which must have an integer type, as an IntTensor with the file's dims. */
    public static IntTensor readInts(Path file) {
        try (Source src = Source.open(file)) {
            return src.readInts();
        } catch (IOException e) {
            throw ioFailure(file.toString(), e);
        }
    }

    /** Like {@link #readInts(Path)}, from a stream (plain or gzip); {@code name} is used in messages. */
    public static IntTensor readInts(InputStream in, String name) {
        try (Source src = Source.open(in, name)) {
            return src.readInts();
        } catch (IOException e) {
            throw ioFailure(name, e);
        }
    }

    private static Moe4jException ioFailure(String name, IOException e) {
        if (e instanceof NoSuchFileException) return new Moe4jException(name + ": no such file", e);
        return new Moe4jException(name + ": cannot read: " + e, e);
    }

    /** One open input: the stream past the header, its name, and what is known about how much data it holds. */
    private static final class Source implements AutoCloseable {
        private final InputStream in;
        private final String name;
        private final boolean gzip;
        private final long fileSize; // bytes on disk, or -1 for a stream of unknown length
        private Header header;

        private Source(InputStream in, String name, boolean gzip, long fileSize) {
            this.in = in;
            this.name = name;
            this.gzip = gzip;
            this.fileSize = fileSize;
        }

        static Source open(Path file) throws IOException {
            long size = Files.size(file);
            return wrap(Files.newInputStream(file), file.toString(), size);
        }

        static Source open(InputStream raw, String name) throws IOException {
            return wrap(raw, name, -1);
        }

        private static Source wrap(InputStream raw, String name, long size) throws IOException {
            BufferedInputStream buffered = new BufferedInputStream(raw, CHUNK);
            try {
                buffered.mark(2);
                int b0 = buffered.read();
                int b1 = buffered.read();
                buffered.reset();
                if (b0 == 0x1f && b1 == 0x8b) {
                    try {
                        return new Source(new GZIPInputStream(buffered, CHUNK), name, true, size);
                    } catch (ZipException | EOFException e) {
                        throw new DataFormatException(name, "gzip header", "not a valid gzip stream (" + e.getMessage()
                                + ")", REDOWNLOAD, e);
                    }
                }
                return new Source(buffered, name, false, size);
            } catch (IOException | RuntimeException e) {
                buffered.close();
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }

        Header header() throws IOException {
            if (header == null) header = parseHeader();
            return header;
        }

        private Header parseHeader() throws IOException {
            byte[] magic = new byte[4];
            int got = readFully(magic, 4);
            if (got < 4) {
                throw new DataFormatException(name, "magic", (got == 0 ? "the file is empty" : "the file ends after "
                        + got + " bytes") + ", an IDX header needs at least 8", REDOWNLOAD);
            }
            int b0 = magic[0] & 0xFF, b1 = magic[1] & 0xFF, code = magic[2] & 0xFF, rank = magic[3] & 0xFF;
            if (b0 != 0 || b1 != 0) {
                String hint = b0 == 0x1f && b1 == 0x8b ? "; it is gzip inside gzip: decompress it once (gunzip)"
                        : isText(magic) ? "; it starts with text (\"" + new String(magic, StandardCharsets.ISO_8859_1)
                                + "\"), perhaps an HTML error page saved by a failed download" : "";
                throw new DataFormatException(name, "magic", String.format(
                        "bad magic %02x %02x %02x %02x, an IDX file starts with 00 00 <type> <rank>%s", b0, b1, code, rank,
                        hint), "check that this is the IDX file you meant (e.g. train-images-idx3-ubyte.gz), " + REDOWNLOAD);
            }
            Type type = Type.ofCode(code);
            if (type == null) {
                throw new DataFormatException(name, "magic (type)", String.format("type code 0x%02x is not an IDX type "
                        + "(08 ubyte, 09 byte, 0B short, 0C int, 0D float, 0E double)", code), REDOWNLOAD);
            }
            if (rank == 0) {
                throw new DataFormatException(name, "magic (rank)", "rank 0: the file declares no dimensions", REDOWNLOAD);
            }
            int[] dims = new int[rank];
            byte[] word = new byte[4];
            for (int i = 0; i < rank; i++) {
                if (readFully(word, 4) < 4) {
                    throw new DataFormatException(name, "dims[" + i + "]", "the header ends after " + i + " of its "
                            + rank + " dimensions", REDOWNLOAD);
                }
                long d = ByteBuffer.wrap(word).order(ByteOrder.BIG_ENDIAN).getInt() & 0xFFFFFFFFL;
                if (d == 0) {
                    throw new DataFormatException(name, "dims[" + i + "]", "dimension " + i + " is 0, the file holds no "
                            + "values", REDOWNLOAD);
                }
                if (d > Integer.MAX_VALUE) {
                    throw new DataFormatException(name, "dims[" + i + "]", "dimension " + i + " is " + d
                            + ", more than 2^31-1", REDOWNLOAD);
                }
                dims[i] = (int) d;
            }
            int numel;
            long payload;
            try {
                numel = 1;
                for (int d : dims) numel = Math.multiplyExact(numel, d);
                payload = Math.multiplyExact((long) numel, type.size());
            } catch (ArithmeticException e) {
                throw new DataFormatException(name, "dims", "dims " + Arrays.toString(dims) + " hold more than 2^31-1 "
                        + "values, more than one tensor can hold", REDOWNLOAD);
            }
            long headerBytes = 4L + 4L * rank;
            if (fileSize >= 0 && !gzip && headerBytes + payload != fileSize) {
                long have = fileSize - headerBytes;
                throw new DataFormatException(name, "dims", "the header declares " + Arrays.toString(dims) + " " + type
                        + " values (" + payload + " bytes) but " + have + " bytes follow the header; " + (have < payload
                                ? "the file is truncated" : "the file has " + (have - payload) + " bytes of trailing data "
                                        + "(dims that do not describe the file)"), REDOWNLOAD);
            }
            if (fileSize >= 0 && gzip && fileSize < Long.MAX_VALUE / MAX_DEFLATE_RATIO
                    && payload > fileSize * MAX_DEFLATE_RATIO) {
                throw new DataFormatException(name, "dims", "the header declares " + Arrays.toString(dims) + " " + type
                        + " values (" + payload + " bytes), more than a gzip file of " + fileSize + " bytes can hold: the file "
                        + "is truncated or its header is damaged",
                        REDOWNLOAD);
            }
            return new Header(type, dims);
        }

        Tensor readFloats(double scale) throws IOException {
            Header h = header();
            float[] out = new float[h.numel()];
            float[] ubyte = new float[256];
            for (int v = 0; v < 256; v++) ubyte[v] = (float) (v * scale);
            readPayload(h, (bb, count, at) -> {
                switch (h.type()) {
                    case UBYTE -> { for (int i = 0; i < count; i++) out[at + i] = ubyte[bb.get(i) & 0xFF]; }
                    case BYTE -> { for (int i = 0; i < count; i++) out[at + i] = (float) (bb.get(i) * scale); }
                    case SHORT -> { for (int i = 0; i < count; i++) out[at + i] = (float) (bb.getShort(2 * i) * scale); }
                    case INT -> { for (int i = 0; i < count; i++) out[at + i] = (float) (bb.getInt(4 * i) * scale); }
                    case FLOAT -> { for (int i = 0; i < count; i++) out[at + i] = (float) (bb.getFloat(4 * i) * scale); }
                    case DOUBLE -> { for (int i = 0; i < count; i++) out[at + i] = (float) (bb.getDouble(8 * i) * scale); }
                }
            });
            return Tensor.of(out, h.dims());
        }

        IntTensor readInts() throws IOException {
            Header h = header();
            if (!h.type().isInteger()) {
                throw new DataFormatException(name, "magic (type)", "the file holds " + h.type() + " values, not "
                        + "integers (labels are ubyte, byte, short or int)", "pass the labels file (e.g. "
                        + "train-labels-idx1-ubyte.gz), not a file of real values");
            }
            int[] out = new int[h.numel()];
            readPayload(h, (bb, count, at) -> {
                switch (h.type()) {
                    case UBYTE -> { for (int i = 0; i < count; i++) out[at + i] = bb.get(i) & 0xFF; }
                    case BYTE -> { for (int i = 0; i < count; i++) out[at + i] = bb.get(i); }
                    case SHORT -> { for (int i = 0; i < count; i++) out[at + i] = bb.getShort(2 * i); }
                    case INT -> { for (int i = 0; i < count; i++) out[at + i] = bb.getInt(4 * i); }
                    default -> throw new AssertionError(h.type());
                }
            });
            return new IntTensor(out, h.dims());
        }

        /** Converts one chunk of {@code count} values, held big-endian in {@code bb}, into output positions {@code at...}. */
        private interface ChunkSink {
            void accept(ByteBuffer bb, int count, int at);
        }

        private void readPayload(Header h, ChunkSink sink) throws IOException {
            int size = h.type().size();
            int n = h.numel();
            byte[] buf = new byte[CHUNK];
            ByteBuffer bb = ByteBuffer.wrap(buf).order(ByteOrder.BIG_ENDIAN);
            int done = 0;
            while (done < n) {
                int want = Math.min(n - done, CHUNK / size);
                int got = readFully(buf, want * size);
                if (got < want * size) {
                    throw new DataFormatException(name, "data", "the header declares " + Arrays.toString(h.dims()) + " = "
                            + n + " " + h.type() + " values but the data ends after " + (done + got / size)
                            + "; the file is truncated", REDOWNLOAD);
                }
                sink.accept(bb, want, done);
                done += want;
            }
            if (readByte() >= 0) {
                throw new DataFormatException(name, "data", "trailing data after the " + n + " values the header "
                        + "declares " + Arrays.toString(h.dims()) + " (dims that do not describe the file)", REDOWNLOAD);
            }
        }

        /** Reads up to {@code len} bytes; fewer only at the end of the stream. A damaged gzip stream is a format error. */
        private int readFully(byte[] buf, int len) throws IOException {
            int total = 0;
            try {
                while (total < len) {
                    int r = in.read(buf, total, len - total);
                    if (r < 0) break;
                    total += r;
                }
            } catch (EOFException e) {
                throw new DataFormatException(name, "gzip stream", "the compressed stream ends early (" + e.getMessage()
                        + "); the file is truncated", REDOWNLOAD, e);
            } catch (ZipException e) {
                throw new DataFormatException(name, "gzip stream", "corrupt compressed data (" + e.getMessage() + ")",
                        REDOWNLOAD, e);
            }
            return total;
        }

        private int readByte() throws IOException {
            byte[] one = new byte[1];
            return readFully(one, 1) == 1 ? one[0] & 0xFF : -1;
        }

        private static boolean isText(byte[] b) {
            for (byte x : b) if (x < 0x09 || x > 0x7e) return false;
            return true;
        }
    }

    // ---- writing ---------------------------------------------------------------------------------------------

    /**
     * Writes {@code values} (any dtype, any strides) to {@code file} with the given value type; gzip-compressed
     * when the name ends in {@code .gz}. Integer types require integral values in range.
     */
    public static void write(Path file, Tensor values, Type type) {
        try (OutputStream out = open(file)) {
            write(out, values, type);
        } catch (IOException e) {
            throw new Moe4jException(file + ": cannot write: " + e, e);
        }
    }

    /** Writes integer {@code values} to {@code file} with an integer value type; gzip when the name ends in .gz. */
    public static void write(Path file, IntTensor values, Type type) {
        try (OutputStream out = open(file)) {
            write(out, values, type);
        } catch (IOException e) {
            throw new Moe4jException(file + ": cannot write: " + e, e);
        }
    }

    private static OutputStream open(Path file) throws IOException {
        OutputStream raw = new BufferedOutputStream(Files.newOutputStream(file), CHUNK);
        return file.getFileName().toString().endsWith(".gz") ? new GZIPOutputStream(raw, CHUNK) : raw;
    }

    /** Writes {@code values} in IDX form to a stream (not compressed by this method). */
    public static void write(OutputStream out, Tensor values, Type type) throws IOException {
        int n = values.numel();
        writeHeader(out, type, values.shape());
        writeValues(out, type, n, i -> values.storage().get(values.storageIndex(i)));
    }

    /** Writes integer {@code values} in IDX form to a stream (not compressed by this method). */
    public static void write(OutputStream out, IntTensor values, Type type) throws IOException {
        int[] data = values.data();
        writeHeader(out, type, values.shape());
        writeValues(out, type, data.length, i -> data[i]);
    }

    private static void writeHeader(OutputStream out, Type type, int[] dims) throws IOException {
        if (dims.length == 0 || dims.length > 255) {
            throw new Moe4jException("Idx.write: rank must be 1 to 255, got shape " + Arrays.toString(dims));
        }
        ByteBuffer bb = ByteBuffer.allocate(4 + 4 * dims.length).order(ByteOrder.BIG_ENDIAN);
        bb.put((byte) 0).put((byte) 0).put((byte) type.code()).put((byte) dims.length);
        for (int d : dims) bb.putInt(d);
        out.write(bb.array());
    }

    private interface ValueAt {
        double get(int i);
    }

    private static void writeValues(OutputStream out, Type type, int n, ValueAt values) throws IOException {
        byte[] buf = new byte[CHUNK];
        ByteBuffer bb = ByteBuffer.wrap(buf).order(ByteOrder.BIG_ENDIAN);
        for (int i = 0; i < n; i++) {
            double v = values.get(i);
            switch (type) {
                case UBYTE -> bb.put((byte) checkedInteger(v, 0, 255, i, type));
                case BYTE -> bb.put((byte) checkedInteger(v, Byte.MIN_VALUE, Byte.MAX_VALUE, i, type));
                case SHORT -> bb.putShort((short) checkedInteger(v, Short.MIN_VALUE, Short.MAX_VALUE, i, type));
                case INT -> bb.putInt(checkedInteger(v, Integer.MIN_VALUE, Integer.MAX_VALUE, i, type));
                case FLOAT -> bb.putFloat((float) v);
                case DOUBLE -> bb.putDouble(v);
            }
            if (bb.remaining() < 8) {
                out.write(buf, 0, bb.position());
                bb.clear();
            }
        }
        out.write(buf, 0, bb.position());
    }

    private static int checkedInteger(double v, int lo, int hi, int index, Type type) {
        if (v != Math.rint(v) || v < lo || v > hi) {
            throw new Moe4jException("Idx.write: value " + v + " at index " + index + " is not an integer in [" + lo + ", "
                    + hi + "], so it cannot be stored as " + type);
        }
        return (int) v;
    }
}
