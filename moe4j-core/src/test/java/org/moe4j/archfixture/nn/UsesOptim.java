package org.moe4j.archfixture.nn;

import org.moe4j.archfixture.optim.Sgd;

/** WRONG arrow: nn and optim are siblings, so nn may not use optim. */
public final class UsesOptim {
    public int steps(Sgd sgd) {
        return sgd.steps(null);
    }
}
