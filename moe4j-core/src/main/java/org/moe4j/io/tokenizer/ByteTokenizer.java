package org.moe4j.io.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.moe4j.common.Moe4jException;

/**
 * The simplest tokenizer, for training from scratch: ids 0..255 are the bytes of the UTF-8 text, and the special
 * tokens follow from 256 ({@code <|bos|>}, {@code <|eos|>}, {@code <|pad|>} by default). Every text encodes, and
 * bits per token are bits per byte.
 */
public final class ByteTokenizer implements Tokenizer {
    private final List<String> specials; // [vocabSize - 256] texts of ids 256..
    private final Map<String, Integer> specialIds;
    private final SpecialRoles roles;
    private final AddedTokenSplitter splitter;

    /** Bytes and the {@link Tokenizer#DEFAULT_SPECIALS}: bos 256, eos 257, pad 258. */
    public ByteTokenizer() {
        this(DEFAULT_SPECIALS);
    }

    /** Bytes and {@code specials} from id 256 in order; bos, eos and pad are recognised by name ({@link SpecialRoles}). */
    public ByteTokenizer(List<String> specials) {
        this.specials = List.copyOf(specials);
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (int i = 0; i < this.specials.size(); i++) {
            String s = this.specials.get(i);
            if (s.isEmpty()) throw new Moe4jException("ByteTokenizer: special token " + i + " is empty");
            if (ids.putIfAbsent(s, 256 + i) != null) {
                throw new Moe4jException("ByteTokenizer: special token " + s + " is listed twice");
            }
        }
        this.specialIds = Map.copyOf(ids);
        this.roles = SpecialRoles.guess(ids);
        this.splitter = new AddedTokenSplitter(ids);
    }

    @Override
    public int[] encode(String text) {
        if (splitter.isEmpty()) return encodeOrdinary(text);
        IntList ids = new IntList(text.length() + 4);
        splitter.split(text, (piece, id) -> {
            if (id >= 0) {
                ids.add(id);
            } else {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) ids.add(b & 0xFF);
            }
        });
        return ids.toArray();
    }

    @Override
    public int[] encodeOrdinary(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) ids[i] = bytes[i] & 0xFF;
        return ids;
    }

    @Override
    public int vocabSize() {
        return 256 + specials.size();
    }

    @Override
    public byte[] tokenBytes(int id) {
        Tokenizer.checkId("ByteTokenizer.tokenBytes", id, vocabSize());
        return id < 256 ? new byte[] {(byte) id} : specials.get(id - 256).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void appendBytes(int id, ByteArrayOutputStream out) {
        Tokenizer.checkId("ByteTokenizer.decode", id, vocabSize());
        if (id < 256) out.write(id);
        else out.writeBytes(specials.get(id - 256).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String tokenString(int id) {
        Tokenizer.checkId("ByteTokenizer.tokenString", id, vocabSize());
        return id < 256 ? String.valueOf(ByteLevel.charOf(id)) : specials.get(id - 256);
    }

    @Override
    public OptionalInt tokenId(String token) {
        Integer special = specialIds.get(token);
        if (special != null) return OptionalInt.of(special);
        if (token.length() == 1 && ByteLevel.byteOf(token.charAt(0)) >= 0) {
            return OptionalInt.of(ByteLevel.byteOf(token.charAt(0)));
        }
        return OptionalInt.empty();
    }

    @Override
    public boolean isSpecial(int id) {
        Tokenizer.checkId("ByteTokenizer.isSpecial", id, vocabSize());
        return id >= 256;
    }

    @Override
    public SpecialRoles roles() {
        return roles;
    }

    /** The special tokens, in id order from 256. */
    public List<String> specials() {
        return specials;
    }

    @Override
    public String toString() {
        return "ByteTokenizer[vocab=" + vocabSize() + ", specials=" + specials + "]";
    }
}
