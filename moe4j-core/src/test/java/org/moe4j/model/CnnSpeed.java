package org.moe4j.model;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.kernel.Parallel;
import org.moe4j.moe.RoutingContext;
import org.moe4j.optim.AdamW;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Not a test: a harness that times training steps (forward, backward, AdamW) of the Fashion-MNIST CNNs on random
 * 28x28 images and prints images/s with a breakdown. Run from moe4j-core after test-compile:
 * {@code java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes
 * org.moe4j.model.CnnSpeed [moe-cnn|dense-active|dense-total] [threads] [batch] [steps]}.
 */
public final class CnnSpeed {
    private CnnSpeed() {}

    /** CPU time of the whole process (all threads, JIT and GC included), which other processes do not inflate. */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    public static void main(String[] args) {
        String which = args.length > 0 ? args[0] : "moe-cnn";
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 200;
        Parallel.setThreads(threads);
        MoeCnnConfig moe = MoeCnnConfig.fashionMnist();
        ClassifierConfig config = switch (which) {
            case "moe-cnn" -> moe;
            case "dense-active" -> DenseCnnConfig.matchingActive(moe);
            case "dense-total" -> DenseCnnConfig.matchingTotal(moe);
            default -> throw new IllegalArgumentException("unknown model " + which);
        };
        Rng rng = new Rng(42);
        Classifier model = config.build(rng.split());
        AdamW opt = new AdamW(model.parameters(), 1e-3);
        Rng data = rng.split();
        int batches = 8;
        Tensor[] xs = new Tensor[batches];
        IntTensor[] ys = new IntTensor[batches];
        for (int b = 0; b < batches; b++) {
            float[] px = new float[batch * 28 * 28];
            for (int i = 0; i < px.length; i++) px[i] = (float) data.normal();
            int[] py = new int[batch];
            for (int i = 0; i < batch; i++) py[i] = data.nextInt(10);
            xs[b] = Tensor.of(px, batch, 1, 28, 28);
            ys[b] = new IntTensor(py, new int[] {batch});
        }
        System.out.printf(Locale.ROOT, "%s: %d parameters, %d active; batch %d, %d threads%n", config.kind(),
                model.parameterCount(), model.activeParameterCount(), batch, threads);
        Rng stepRng = rng.split();
        // The JIT needs tens of seconds on a busy 2-core machine, so steps are timed in windows and the
        // steady state is the median window of the second half.
        int window = 10;
        List<double[]> windows = new ArrayList<>(); // {images/s, forward ms, backward ms, adamw ms} per step
        long fwd = 0, bwd = 0, upd = 0;
        long start = System.nanoTime();
        long cpuStart = cpuNanos();
        for (int s = 1; s <= steps; s++) {
            long t0 = System.nanoTime();
            ClassifierOutput out = model.forward(Variable.constant(xs[s % batches]),
                    RoutingContext.training("model", stepRng));
            Variable loss = out.loss(ys[s % batches]);
            long t1 = System.nanoTime();
            opt.zeroGrad();
            loss.backward();
            long t2 = System.nanoTime();
            opt.step();
            long t3 = System.nanoTime();
            fwd += t1 - t0;
            bwd += t2 - t1;
            upd += t3 - t2;
            if (s % window == 0) {
                double secs = (t3 - start) / 1e9;
                double cpu = (cpuNanos() - cpuStart) / 1e9;
                double[] w = {window * (double) batch / secs, fwd / 1e6 / window, bwd / 1e6 / window, upd / 1e6 / window,
                    window * (double) batch / cpu};
                windows.add(w);
                System.out.printf(Locale.ROOT, "steps %4d: %6.0f images/s (%5.0f per CPU second); per step forward %.1f ms,"
                        + " backward %.1f, adamw %.1f%n", s, w[0], w[4], w[1], w[2], w[3]);
                fwd = bwd = upd = 0;
                start = System.nanoTime();
                cpuStart = cpuNanos();
            }
        }
        List<double[]> steady = new ArrayList<>(windows.subList(windows.size() / 2, windows.size()));
        steady.sort(Comparator.comparingDouble(w -> w[0]));
        double[] m = steady.get(steady.size() / 2);
        System.out.printf(Locale.ROOT, "steady state (median of the last %d windows): %.0f images/s (%.0f per CPU "
                + "second); forward %.1f ms, backward %.1f, adamw %.1f%n", steady.size(), m[0], m[4], m[1], m[2], m[3]);
    }
}
