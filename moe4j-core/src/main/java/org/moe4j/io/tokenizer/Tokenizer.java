package org.moe4j.io.tokenizer;

import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.OptionalInt;
import org.moe4j.common.Moe4jException;

/**
 * Text to token ids and back. Ids run from 0 to {@link #vocabSize()} - 1; every id stands for a sequence of bytes
 * (special tokens for the UTF-8 bytes of their text), and decoding joins those bytes and reads them as UTF-8, so a
 * character split over two tokens comes out whole and an invalid sequence becomes U+FFFD instead of an error (one
 * per maximal invalid subpart, as the Unicode Standard recommends and Hugging Face does).
 * Implementations are immutable and safe to share between threads.
 */
public interface Tokenizer {
    /** The special tokens a tokenizer made from scratch gets unless told otherwise: bos, eos and pad. */
    List<String> DEFAULT_SPECIALS = List.of("<|bos|>", "<|eos|>", "<|pad|>");

    /**
     * The ids of {@code text}. The text of a special or added token (e.g. {@code <|eos|>}) becomes that token's id,
     * as Hugging Face's tokenizers do; use {@link #encodeOrdinary} for text that must never produce one.
     */
    int[] encode(String text);

    /**
     * The ids of {@code text}; with {@code addSpecialTokens}, also the tokens the tokenizer's post-processor adds
     * around a sequence (Llama's {@code <s>} in front), where it has one.
     */
    default int[] encode(String text, boolean addSpecialTokens) {
        return encode(text);
    }

    /** The ids of {@code text}, reading the text of special tokens as ordinary text. */
    int[] encodeOrdinary(String text);

    /** The number of ids. */
    int vocabSize();

    /** The bytes token {@code id} stands for (a fresh array). */
    byte[] tokenBytes(int id);

    /**
     * The token's entry in the vocabulary: for byte-level tokens the {@link ByteLevel} string (a space shows as
     * {@code Ġ}), for special tokens their text.
     */
    String tokenString(int id);

    /** The id whose {@link #tokenString} is {@code token}, if any. */
    OptionalInt tokenId(String token);

    /** Whether {@code id} is a special token (bos, eos, pad, or another control token). */
    boolean isSpecial(int id);

    /** Which ids start, end and pad a sequence. */
    SpecialRoles roles();

    /** The id that starts a sequence, if this tokenizer has one. */
    default OptionalInt bosId() {
        return roles().bos();
    }

    /** The id that ends a sequence, if this tokenizer has one. */
    default OptionalInt eosId() {
        return roles().eos();
    }

    /** The id used for padding, if this tokenizer has one. */
    default OptionalInt padId() {
        return roles().pad();
    }

    /** Appends the bytes of token {@code id} to {@code out}: for streaming, see {@link StreamingDecoder}. */
    default void appendBytes(int id, ByteArrayOutputStream out) {
        out.writeBytes(tokenBytes(id));
    }

    /** The text of {@code ids}; invalid UTF-8 becomes U+FFFD. */
    default String decode(int[] ids) {
        return decode(ids, false);
    }

    /** The text of {@code ids}, leaving out special tokens when {@code skipSpecial}; invalid UTF-8 becomes U+FFFD. */
    default String decode(int[] ids, boolean skipSpecial) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            if (!(skipSpecial && isSpecial(id))) appendBytes(id, out);
        }
        return Utf8.decode(out.toByteArray()); // replaces malformed input, never throws
    }

    /** Checks that {@code id} is a valid id of a tokenizer of {@code vocabSize} ids; {@code op} names the caller. */
    static void checkId(String op, int id, int vocabSize) {
        if (id < 0 || id >= vocabSize) {
            throw new Moe4jException(op + ": token id " + id + " is out of range: the vocabulary has ids 0.."
                    + (vocabSize - 1));
        }
    }
}
