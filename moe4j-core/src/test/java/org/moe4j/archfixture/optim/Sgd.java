package org.moe4j.archfixture.optim;

import org.moe4j.archfixture.autograd.Tape;

/** A right arrow: optim may use autograd. */
public final class Sgd {
    public int steps(Tape tape) {
        return tape.size();
    }
}
