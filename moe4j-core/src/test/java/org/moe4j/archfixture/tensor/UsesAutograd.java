package org.moe4j.archfixture.tensor;

import org.moe4j.archfixture.autograd.Tape;

/** WRONG arrow: the tensor layer reaching up into autograd. */
public final class UsesAutograd {
    public int peek(Tape tape) {
        return tape.size();
    }
}
