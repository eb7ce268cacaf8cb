package org.moe4j.train;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import org.moe4j.io.tokenizer.ByteTokenizer;
import org.moe4j.kernel.Parallel;
import org.moe4j.moe.RoutingContext;
import org.moe4j.train.data.TextData;

/**
 * Not a test: times whole training steps of the Trainer's LM task (windows, forward, backward, clipping, AdamW) on a
 * text and prints tokens/s by wall time and per process CPU second (which other processes do not inflate). Run from
 * moe4j-core after test-compile: {@code java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes:$DEPS
 * org.moe4j.train.LmSpeed TEXT [moe-lm|dense-lm] [threads] [steps] [seq] [batch]}.
 */
public final class LmSpeed {
    private LmSpeed() {}

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    public static void main(String[] args) {
        String text = args[0];
        String model = args.length > 1 ? args[1] : "moe-lm";
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 20;
        int seq = args.length > 4 ? Integer.parseInt(args[4]) : 256;
        int batch = args.length > 5 ? Integer.parseInt(args[5]) : 16;
        Parallel.setThreads(threads);
        ByteTokenizer tok = new ByteTokenizer();
        TextData data = TextData.load("text:" + text, tok);
        LmRunConfig c = LmTraining.config(model, "text:" + text, tok, null, "small", null, null, null, seq, batch, 1000, 2e-3, 1);
        LmTask task = LmTraining.task(c, data);
        var opt = new org.moe4j.optim.AdamW(task.module().parameters(), 2e-3, 0.9, 0.999, 1e-8, 0.1);
        org.moe4j.common.Rng rng = new org.moe4j.common.Rng(1);
        for (int s = 0; s < steps; s++) {
            long w0 = System.nanoTime(), c0 = cpuNanos();
            opt.zeroGrad();
            TrainingTask.Step st = task.step(RoutingContext.training("model", rng));
            var loss = st.auxLoss() == null ? st.loss() : org.moe4j.autograd.Arith.add(st.loss(), st.auxLoss());
            loss.backward();
            org.moe4j.optim.GradClip.clipGradNorm(opt.parameters(), 1.0);
            opt.step();
            double wall = (System.nanoTime() - w0) / 1e9, cpu = (cpuNanos() - c0) / 1e9;
            System.out.printf(Locale.ROOT, "step %3d loss %.3f: %6.0f tokens/s wall, %6.0f tokens per CPU second (x%d threads = %6.0f)%n",
                    s + 1, st.loss().value().item(), st.items() / wall, st.items() / cpu, threads, threads * st.items() / cpu);
        }
    }
}
