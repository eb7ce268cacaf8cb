package org.moe4j.io.tokenizer;

import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.moe4j.common.Moe4jException;

/**
 * The token strings of a vocabulary by id: the model's tokens, with the added tokens over them (an added token may
 * take a model token's id only with the same text). Shared by {@link BpeTokenizer} and {@link SentencePieceBpe}.
 */
final class TokenTable {
    private final String[] tokens; // [size] token strings; null for ids no token has
    private final boolean[] special; // [size]
    private final Map<String, Integer> ids; // every token string -> id, added tokens included
    private final Map<String, Integer> specials; // special token text -> id, in the order given

    TokenTable(Map<String, Integer> modelVocab, List<AddedToken> addedTokens, BpeTokenizer.Errors errors) {
        int size = 0;
        for (Map.Entry<String, Integer> e : modelVocab.entrySet()) {
            if (e.getValue() < 0) throw errors.at("model.vocab." + e.getKey(), "negative id " + e.getValue());
            size = Math.max(size, e.getValue() + 1);
        }
        for (AddedToken t : addedTokens) size = Math.max(size, t.id() + 1);
        tokens = new String[size];
        for (Map.Entry<String, Integer> e : modelVocab.entrySet()) {
            int id = e.getValue();
            if (tokens[id] != null) {
                throw errors.at("model.vocab." + e.getKey(), "id " + id + " is also the id of " + tokens[id]);
            }
            tokens[id] = e.getKey();
        }
        special = new boolean[size];
        ids = new HashMap<>(modelVocab);
        Map<String, Integer> specialIds = new LinkedHashMap<>();
        for (int i = 0; i < addedTokens.size(); i++) {
            AddedToken t = addedTokens.get(i);
            if (tokens[t.id()] != null && !tokens[t.id()].equals(t.content())) {
                throw errors.at("added_tokens[" + i + "]", "id " + t.id() + " is already the token " + tokens[t.id()]
                        + ", not " + t.content());
            }
            tokens[t.id()] = t.content();
            special[t.id()] = t.special();
            ids.put(t.content(), t.id());
            if (t.special()) specialIds.put(t.content(), t.id());
        }
        specials = Collections.unmodifiableMap(specialIds);
    }

    int size() {
        return tokens.length;
    }

    /** The token string of {@code id}, or null for an id no token has (unchecked: {@code id} is in range). */
    String at(int id) {
        return tokens[id];
    }

    /** The token string of {@code id}; an id out of range or unused is an error naming {@code op}. */
    String known(String op, int id) {
        Tokenizer.checkId(op, id, tokens.length);
        if (tokens[id] == null) throw new Moe4jException(op + ": token id " + id + " is unused in this vocabulary");
        return tokens[id];
    }

    OptionalInt id(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    boolean isSpecial(String op, int id) {
        Tokenizer.checkId(op, id, tokens.length);
        return special[id];
    }

    /** The roles guessed from the names of the special added tokens. */
    SpecialRoles guessRoles() {
        return SpecialRoles.guess(specials);
    }
}
