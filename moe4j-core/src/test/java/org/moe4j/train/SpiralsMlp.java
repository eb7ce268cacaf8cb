package org.moe4j.train;

import java.util.function.Consumer;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.nn.Mlp;
import org.moe4j.optim.Sgd;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * The foundation's end-to-end check: a small MLP learns the three-arm spirals with plain minibatch SGD. It
 * exercises the whole engine (GEMM, activations, cross-entropy, autograd, optimizer).
 */
final class SpiralsMlp {
    /** What the run reached: mean training loss per logged interval, and final accuracy on all points. */
    public record Result(double firstLoss, double finalLoss, double accuracy, long parameters, double seconds) {}

    private SpiralsMlp() {}

    public static Result run(long seed, int steps, Consumer<String> log) {
        Rng rng = new Rng(seed);
        Spirals data = Spirals.generate(3, 500, 0.15, rng.split());
        Mlp model = new Mlp(rng.split(), 2, 64, 64, 3);
        Sgd sgd = new Sgd(model.parameters(), 0.2, 0.9, 0, false);
        int batch = 64;
        int[] order = new int[data.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Rng shuffler = rng.split();
        log.accept("moe4j quickstart: an MLP 2-64-64-3 (" + model.parameterCount() + " parameters) learns "
                + data.size() + " points of three interleaved spirals with SGD, batch " + batch);
        long start = System.nanoTime();
        double firstLoss = Double.NaN;
        double windowLoss = 0;
        int window = 0;
        int cursor = order.length;
        double lastLoss = Double.NaN;
        int logEvery = Math.max(1, steps / 10);
        for (int step = 1; step <= steps; step++) {
            if (cursor + batch > order.length) {
                shuffler.shuffle(order);
                cursor = 0;
            }
            Spirals b = data.batch(order, cursor, cursor + batch);
            cursor += batch;
            Variable loss = Losses.crossEntropy(model.forward(Variable.constant(b.points())), b.labels(), -100);
            sgd.zeroGrad();
            loss.backward();
            sgd.step();
            double l = loss.value().item();
            if (step == 1) firstLoss = l;
            windowLoss += l;
            window++;
            if (step % logEvery == 0 || step == steps) {
                lastLoss = windowLoss / window;
                log.accept(String.format("step %5d  loss %.4f", step, lastLoss));
                windowLoss = 0;
                window = 0;
            }
        }
        double accuracy = accuracy(model, data.points(), data.labels());
        double seconds = (System.nanoTime() - start) / 1e9;
        log.accept(String.format("loss %.3f -> %.3f, training accuracy %.1f%% in %.1f s", firstLoss, lastLoss,
                100 * accuracy, seconds));
        return new Result(firstLoss, lastLoss, accuracy, model.parameterCount(), seconds);
    }

    private static double accuracy(Mlp model, Tensor points, IntTensor labels) {
        try (GradMode scope = GradMode.off()) {
            int[] predicted = Reductions.argmax(model.forward(Variable.constant(points)), 1).data();
            int correct = 0;
            for (int i = 0; i < predicted.length; i++) if (predicted[i] == labels.data()[i]) correct++;
            return (double) correct / predicted.length;
        }
    }
}
