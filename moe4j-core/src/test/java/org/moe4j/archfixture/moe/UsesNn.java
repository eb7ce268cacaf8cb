package org.moe4j.archfixture.moe;

import org.moe4j.archfixture.nn.UsesOptim;
import org.moe4j.archfixture.optim.Sgd;

/** Right arrows: moe sits above both nn and optim. */
public final class UsesNn {
    public int steps(UsesOptim nn, Sgd sgd) {
        return nn.steps(sgd) + sgd.steps(null);
    }
}
