package org.moe4j.io.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A BPE model's merges by rank, checked against its vocabulary and indexed by the pair of token ids. Shared by
 * {@link BpeTokenizer} and {@link SentencePieceBpe}.
 */
final class MergeTable {
    private final List<String[]> merges; // [merges][2] token strings, by rank
    private final PairMap ranks; // (left id, right id) -> merge rank
    private final int[] mergedIds; // [merges] the token each merge makes

    MergeTable(Map<String, Integer> modelVocab, List<String[]> merges, BpeTokenizer.Errors errors) {
        this.merges = List.copyOf(merges);
        ranks = new PairMap(merges.size());
        mergedIds = new int[merges.size()];
        for (int r = 0; r < merges.size(); r++) {
            String[] m = merges.get(r);
            String field = "model.merges[" + r + "]";
            Integer left = modelVocab.get(m[0]), right = modelVocab.get(m[1]);
            if (left == null) throw errors.at(field, "the token " + m[0] + " is not in model.vocab");
            if (right == null) throw errors.at(field, "the token " + m[1] + " is not in model.vocab");
            Integer merged = modelVocab.get(m[0] + m[1]);
            if (merged == null) throw errors.at(field, "the merged token " + m[0] + m[1] + " is not in model.vocab");
            ranks.put(left, right, r); // a pair listed twice keeps its last rank, as Hugging Face does
            mergedIds[r] = merged;
        }
    }

    int size() {
        return merges.size();
    }

    /** The merges as given (shared: callers do not modify them). */
    List<String[]> list() {
        return merges;
    }

    /** A copy of the merges, each pair a fresh array. */
    List<String[]> copy() {
        List<String[]> copy = new ArrayList<>(merges.size());
        for (String[] m : merges) copy.add(m.clone());
        return copy;
    }

    /** Merges the symbols {@code sym} (overwritten) by rank; see {@link BpeTokenizer#mergeAll}. */
    int[] mergeAll(int[] sym) {
        return BpeTokenizer.mergeAll(sym, ranks, mergedIds);
    }
}
