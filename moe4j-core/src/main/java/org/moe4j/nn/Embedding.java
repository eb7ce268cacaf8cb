package org.moe4j.nn;

import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.IntTensor;

/** A lookup table of one learned vector per token id. */
public final class Embedding extends Module {
    private final int vocab;
    private final int dim;
    private final Variable weight; // [vocab, dim]

    /** Rows drawn from N(0, std^2) (language models use std 0.02; PyTorch's default is 1). */
    public Embedding(int vocab, int dim, double std, Rng rng) {
        if (vocab <= 0 || dim <= 0) throw new Moe4jException("Embedding: sizes must be positive, got vocab=" + vocab + " dim=" + dim);
        this.vocab = vocab;
        this.dim = dim;
        this.weight = parameter("weight", Init.normal(rng, std, vocab, dim));
    }

    /** ids [...] to vectors [..., dim]; an id outside [0, vocab) is an error naming it and its position. */
    public Variable forward(IntTensor ids) {
        return Indexing.embedding(weight, ids);
    }

    public Variable weight() {
        return weight;
    }

    public int vocab() {
        return vocab;
    }

    public int dim() {
        return dim;
    }
}
