package org.moe4j.io.tokenizer;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Which special tokens start, end and pad a sequence. {@code tokenizer.json} does not say (the model's config
 * does), so the roles are guessed from the usual names; a loader that knows better uses
 * {@link BpeTokenizer#withRoles}.
 */
public record SpecialRoles(OptionalInt bos, OptionalInt eos, OptionalInt pad) {
    /** No roles. */
    public static final SpecialRoles NONE = new SpecialRoles(OptionalInt.empty(), OptionalInt.empty(), OptionalInt.empty());

    // In order of preference. GPT-2's <|endoftext|> ends documents; Qwen uses it as eos too, and has no bos.
    static final List<String> BOS_NAMES = List.of("<|bos|>", "<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>", "[BOS]");
    static final List<String> EOS_NAMES = List.of("<|eos|>", "<|end_of_text|>", "</s>", "<eos>", "<|endoftext|>", "[EOS]");
    static final List<String> PAD_NAMES = List.of("<|pad|>", "<pad>", "<|padding|>", "[PAD]");

    /** The roles guessed from the names of the special tokens ({@code text -> id}). */
    public static SpecialRoles guess(Map<String, Integer> specials) {
        return new SpecialRoles(find(specials, BOS_NAMES), find(specials, EOS_NAMES), find(specials, PAD_NAMES));
    }

    /** Checks that each role's id is an id of a vocabulary of {@code vocabSize} ids; {@code op} names the caller. */
    void checkIds(String op, int vocabSize) {
        for (OptionalInt id : List.of(bos, eos, pad)) {
            if (id.isPresent()) Tokenizer.checkId(op, id.getAsInt(), vocabSize);
        }
    }

    private static OptionalInt find(Map<String, Integer> specials, List<String> names) {
        for (String name : names) {
            Integer id = specials.get(name);
            if (id != null) return OptionalInt.of(id);
        }
        return OptionalInt.empty();
    }
}
