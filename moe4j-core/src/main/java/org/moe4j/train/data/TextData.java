package org.moe4j.train.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.GZIPInputStream;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.io.tokenizer.Tokenizer;

/**
 * A text tokenized for language modelling: the whole text is encoded once (special tokens' text read as ordinary
 * text), then split at the first token that starts at or after {@value #TRAIN_FRACTION} of the text's bytes, so
 * the last 5% by bytes is held out and both parts are exactly the whole text's tokens.
 *
 * <p>{@link #bytesOf} gives the UTF-8 bytes a run of tokens decodes to, the denominator of bits per byte, which
 * makes losses comparable across tokenizers.
 */
public final class TextData {
    /** The share of the text (by bytes) used for training; the rest is held out. */
    public static final double TRAIN_FRACTION = 0.95;
    /** The bundled slice of the King James Bible, {@code text:bundled:kjv-small}. */
    public static final String BUNDLED_KJV = "kjv-small";
    static final String BUNDLED_RESOURCE = "/datasets/kjv-small/kjv-small.txt.gz";

    private final String source;
    private final Tokenizer tokenizer;
    private final int[] train; // [trainTokens]
    private final int[] heldOut; // [heldOutTokens]
    private final int[] tokenBytes; // [vocab] UTF-8 bytes each id decodes to
    private final long textBytes;
    private String fingerprint;

    private TextData(String source, Tokenizer tokenizer, int[] train, int[] heldOut, int[] tokenBytes, long textBytes) {
        this.source = source;
        this.tokenizer = tokenizer;
        this.train = train;
        this.heldOut = heldOut;
        this.tokenBytes = tokenBytes;
        this.textBytes = textBytes;
    }

    /** Reads and tokenizes the text of a {@code --data text:...} spec ({@code text:FILE} or {@code text:bundled:kjv-small}). */
    public static TextData load(String spec, Tokenizer tokenizer) {
        return of(spec, read(spec), tokenizer);
    }

    /** Tokenizes {@code text} (UTF-8 bytes; the byte tokenizer also takes other bytes) and splits off the held-out tail. */
    public static TextData of(String source, byte[] text, Tokenizer tokenizer) {
        int[] ids;
        if (tokenizer instanceof ByteTokenizer) {
            ids = new int[text.length];
            for (int i = 0; i < text.length; i++) ids[i] = text[i] & 0xFF; // what encodeOrdinary gives for UTF-8
        } else {
            ids = tokenizer.encodeOrdinary(utf8(source, text));
        }
        int[] table = new int[tokenizer.vocabSize()];
        for (int id = 0; id < table.length; id++) table[id] = tokenizer.tokenBytes(id).length;
        long cutAt = (long) Math.ceil(TRAIN_FRACTION * text.length);
        long offset = 0;
        int cut = 0;
        while (cut < ids.length && offset < cutAt) offset += table[ids[cut++]];
        return new TextData(source, tokenizer, Arrays.copyOf(ids, cut), Arrays.copyOfRange(ids, cut, ids.length), table,
                text.length);
    }

    /** The bytes of a {@code text:} spec. */
    static byte[] read(String spec) {
        String s = spec == null ? "" : spec.strip();
        if (!s.startsWith("text:") || s.length() == "text:".length()) {
            throw new Moe4jException("--data " + spec + ": a language model reads text:FILE (UTF-8) or text:bundled:"
                    + BUNDLED_KJV);
        }
        String where = s.substring("text:".length());
        if (where.startsWith("bundled:")) {
            String name = where.substring("bundled:".length());
            if (!name.equals(BUNDLED_KJV)) {
                throw new Moe4jException("--data " + spec + ": no bundled text \"" + name + "\"; the bundled one is text:bundled:"
                        + BUNDLED_KJV);
            }
            try (InputStream in = TextData.class.getResourceAsStream(BUNDLED_RESOURCE)) {
                if (in == null) {
                    throw new Moe4jException("the bundled text " + BUNDLED_KJV + " is not on the class path (" + BUNDLED_RESOURCE
                            + "); is moe4j-core's jar complete?");
                }
                try (GZIPInputStream gz = new GZIPInputStream(in)) {
                    return gz.readAllBytes();
                }
            } catch (IOException e) {
                throw new Moe4jException("cannot read the bundled text " + BUNDLED_KJV + ": " + e.getMessage(), e);
            }
        }
        Path file = Path.of(where);
        try {
            if (Files.isDirectory(file)) throw new Moe4jException("--data " + spec + ": " + file + " is a directory, not a text file");
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new Moe4jException("--data " + spec + ": no such file " + file.toAbsolutePath());
        } catch (IOException e) {
            throw new Moe4jException("--data " + spec + ": cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static String utf8(String source, byte[] text) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(text)).toString();
        } catch (CharacterCodingException e) {
            throw new Moe4jException(source + " is not UTF-8 text (" + e.getMessage() + "); convert it to UTF-8, or train "
                    + "with --tokenizer byte, which takes any bytes");
        }
    }

    public String source() {
        return source;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The training tokens (shared, do not modify). */
    public int[] train() {
        return train;
    }

    /** The held-out tokens (shared, do not modify). */
    public int[] heldOut() {
        return heldOut;
    }

    /** The text's length in bytes. */
    public long textBytes() {
        return textBytes;
    }

    /** The UTF-8 bytes tokens {@code ids[from..to)} decode to. */
    public long bytesOf(int[] ids, int from, int to) {
        long n = 0;
        for (int i = from; i < to; i++) n += tokenBytes[ids[i]];
        return n;
    }

    /** The UTF-8 bytes token {@code id} decodes to. */
    public int bytesOf(int id) {
        return tokenBytes[id];
    }

    /** SHA-256 over the vocabulary size and every token id, training and held-out. */
    public String fingerprint() {
        if (fingerprint != null) return fingerprint;
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer bb = ByteBuffer.allocate(1 << 16);
            bb.putInt(tokenizer.vocabSize()).putInt(train.length).putInt(heldOut.length);
            for (int[] part : new int[][] {train, heldOut}) {
                for (int id : part) {
                    if (bb.remaining() < 4) flush(md, bb);
                    bb.putInt(id);
                }
            }
            flush(md, bb);
            fingerprint = HexFormat.of().formatHex(md.digest());
            return fingerprint;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private static void flush(MessageDigest md, ByteBuffer bb) {
        bb.flip();
        md.update(bb);
        bb.clear();
    }

    @Override
    public String toString() {
        return source + ": " + train.length + " training and " + heldOut.length + " held-out tokens of a vocabulary of "
                + tokenizer.vocabSize();
    }
}
