package org.moe4j.io.tokenizer;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * Decodes tokens one at a time as they are generated, without cutting a character in half: the bytes of an
 * unfinished UTF-8 sequence at the end are held back until the tokens that finish it arrive. The texts returned
 * by {@link #push} and {@link #finish}, joined, equal {@link Tokenizer#decode} of all the tokens. One per sequence;
 * not thread-safe.
 *
 * <p>For a {@link SentencePieceBpe} the file's decoder chain runs token by token: a run of {@code <0xNN>} byte
 * tokens is held back until a token that is not one ends it (Hugging Face turns an invalid run into one U+FFFD per
 * byte, so a run's text is known only when it ends), and the leading space is cut once, from the first text out.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private final PieceDecoder.State pieces; // non-null for SentencePiece-style tokenizers
    private boolean first = true; // no token pushed yet

    public StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.pieces = tokenizer instanceof SentencePieceBpe sp ? sp.decoderState() : null;
    }

    /** Adds token {@code id}; returns the text it completes (often empty inside a multi-byte character). */
    public String push(int id) {
        if (pieces != null) return pieces.push(tokenizer.tokenString(id));
        if (tokenizer instanceof SpmTokenizer spm) {
            pending.writeBytes(spm.piece(id, first, true));
        } else {
            tokenizer.appendBytes(id, pending);
        }
        first = false;
        byte[] b = pending.toByteArray();
        int cut = completeLength(b);
        pending.reset();
        pending.write(b, cut, b.length - cut);
        return Utf8.decode(b, 0, cut);
    }

    /** The text of the bytes still held back (an unfinished sequence becomes U+FFFD); the decoder is then empty. */
    public String finish() {
        if (pieces != null) return pieces.finish();
        String rest = Utf8.decode(pending.toByteArray());
        pending.reset();
        return rest;
    }

    /**
     * The length of the longest prefix that decodes the same alone as in any longer text: all of it, unless it ends
     * in the lead byte of a multi-byte sequence followed by fewer continuation bytes than the lead asks for. The cut
     * falls before a lead byte, where a decoder always starts a new sequence, so nothing is decoded differently.
     */
    static int completeLength(byte[] b) {
        int n = b.length;
        for (int back = 1; back <= Math.min(4, n); back++) {
            int c = b[n - back] & 0xFF;
            if ((c & 0xC0) == 0x80) continue; // a continuation byte: look further back for its lead
            int need = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 1;
            return back < need ? n - back : n;
        }
        return n; // only continuation bytes at the end: they can never complete, decode them now
    }

    @Override
    public String toString() {
        return "StreamingDecoder[pending=" + Arrays.toString(pending.toByteArray()) + "]";
    }
}
