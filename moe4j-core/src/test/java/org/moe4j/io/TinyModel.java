package org.moe4j.io;

import java.util.List;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.nn.Mlp;
import org.moe4j.nn.Module;
import org.moe4j.optim.Optimizer;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/** A small classifier with a non-trainable buffer, and one deterministic training step, for checkpoint tests. */
final class TinyModel extends Module {
    /** The configuration a checkpoint keeps; a record with a nested list, as real configs have. */
    record Config(int in, int hidden, int classes, double learningRate, String optimizerName, List<Integer> extraSizes) {}

    final Mlp mlp;
    final Tensor selectionBias; // [classes], updated in place outside autograd, like a router's balancing bias

    TinyModel(Config c, long seed) {
        Rng rng = new Rng(seed);
        mlp = child("mlp", new Mlp(rng, c.in(), c.hidden(), c.classes()));
        selectionBias = buffer("selectionBias", TestData.randn(rng, c.classes()));
    }

    /** One step on a batch drawn from {@code data}; also nudges the buffer, as a bias update would. */
    void trainStep(Optimizer opt, Rng data) {
        int batch = 6;
        int in = mlp.namedParameters().get("0.weight").shape()[1];
        int classes = selectionBias.numel();
        Tensor x = TestData.randn(data, batch, in);
        int[] targets = new int[batch];
        for (int i = 0; i < batch; i++) targets[i] = data.nextInt(classes);
        opt.zeroGrad();
        Variable loss = Losses.crossEntropy(mlp.forward(Variable.constant(x)), new IntTensor(targets, new int[] {batch}));
        loss.backward();
        opt.step();
        float[] b = selectionBias.floats();
        for (int i = 0; i < b.length; i++) b[i] += 0.01f * (i - 1);
    }
}
