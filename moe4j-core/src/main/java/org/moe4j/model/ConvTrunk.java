package org.moe4j.model;

import java.util.ArrayList;
import java.util.List;
import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Convolution;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.nn.Conv2d;
import org.moe4j.nn.Module;

/**
 * The CNNs' trunk: per stage a "same" convolution, 2x2 max pooling and ReLU. Pooling runs before the ReLU,
 * which gives the same values and gradients as the usual conv-ReLU-pool (ReLU is monotonic, so it commutes with
 * max) with the ReLU on a quarter of the elements.
 */
final class ConvTrunk extends Module {
    private final List<Conv2d> convs = new ArrayList<>();

    ConvTrunk(ConvTrunkConfig config, Rng rng) {
        int in = config.channels();
        for (int i = 0; i < config.stages().size(); i++) {
            int out = config.stages().get(i);
            convs.add(child("conv" + i, new Conv2d(in, out, config.kernel(), 1, config.kernel() / 2, true, rng)));
            in = out;
        }
    }

    /** x [N, C, H, W] to [N, last stage channels, H / 2^stages, W / 2^stages]. */
    Variable forward(Variable x) {
        Variable h = x;
        for (Conv2d conv : convs) h = Activations.relu(Convolution.maxPool2d(conv.forward(h), 2, 2, 0));
        return h;
    }
}
