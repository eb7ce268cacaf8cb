package org.moe4j.nn;

import java.util.ArrayList;
import java.util.List;
import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;

/** A multilayer perceptron: Linear layers with ReLU between them (none after the last). */
public final class Mlp extends Module {
    private final List<Linear> layers = new ArrayList<>();

    /** {@code sizes} = input, hidden..., output; at least two entries. */
    public Mlp(Rng rng, int... sizes) {
        if (sizes.length < 2) throw new Moe4jException("Mlp needs at least an input and an output size");
        for (int i = 0; i + 1 < sizes.length; i++) {
            layers.add(child(Integer.toString(i), new Linear(sizes[i], sizes[i + 1], true, rng)));
        }
    }

    /** x [..., input] to [..., output]. */
    public Variable forward(Variable x) {
        Variable h = x;
        for (int i = 0; i < layers.size(); i++) {
            h = layers.get(i).forward(h);
            if (i + 1 < layers.size()) h = Activations.relu(h);
        }
        return h;
    }
}
