package org.moe4j.moe;

import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.kernel.Elementwise;
import org.moe4j.kernel.Gathering;
import org.moe4j.kernel.GatedScatter;
import org.moe4j.kernel.Gemm;
import org.moe4j.kernel.GluKernels;
import org.moe4j.kernel.GroupedGemm;
import org.moe4j.kernel.Parallel;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Not a test: a harness that runs the kernels of one grouped MoE layer iteration (dim 512, hidden 1024, 8 SwiGLU
 * experts, top-2, 4096 tokens; forward and backward, the kernel calls {@link MoeLayer} makes, in its order) and
 * prints the calling thread's CPU time and allocation per op, the minimum over the iterations, then the whole
 * layer through autograd and an in-cache dense SGEMM for scale. Iterations alternate between the composed
 * kernels (a GEMM per projection, SwiGLU as its own pass) and the fused backward ones (marked *), so both see
 * the same load. Run from moe4j-core after test-compile: {@code java --add-modules jdk.incubator.vector
 * -Xms4g -Xmx4g -XX:+AlwaysPreTouch -cp target/classes:target/test-classes org.moe4j.moe.MoeLayerSpeed
 * [iterations] [threads]}.
 */
public final class MoeLayerSpeed {
    private static final com.sun.management.ThreadMXBean CLOCK =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final int DIM = 512, HIDDEN = 1024, EXPERTS = 8, TOP_K = 2, TOKENS = 4096;

    private final Map<String, Long> best = new LinkedHashMap<>();
    private final Map<String, Long> allocated = new LinkedHashMap<>();
    private long mark, markBytes, iterationStart;
    private boolean composed;

    private MoeLayerSpeed() {}

    public static void main(String[] args) {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 12;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        Parallel.setThreads(threads);
        new MoeLayerSpeed().run(iterations);
    }

    private void run(int iterations) {
        Rng rng = new Rng(1);
        Tensor x = random(rng, TOKENS, DIM), upstream = random(rng, TOKENS, DIM);
        Tensor gateW = random(rng, EXPERTS, HIDDEN, DIM), upW = random(rng, EXPERTS, HIDDEN, DIM);
        Tensor downW = random(rng, EXPERTS, DIM, HIDDEN);
        int[] expert = new int[TOKENS * TOP_K];
        float[] gates = new float[TOKENS * TOP_K];
        for (int t = 0; t < TOKENS; t++) {
            int e0 = rng.nextInt(EXPERTS), e1 = (e0 + 1 + rng.nextInt(EXPERTS - 1)) % EXPERTS;
            expert[2 * t] = e0;
            expert[2 * t + 1] = e1;
            gates[2 * t] = 0.6f;
            gates[2 * t + 1] = 0.4f;
        }
        // Counting sort by expert, as DispatchPlan does.
        int rows = expert.length;
        int[] offsets = new int[EXPERTS + 1];
        for (int e : expert) offsets[e + 1]++;
        for (int e = 0; e < EXPERTS; e++) offsets[e + 1] += offsets[e];
        int[] fill = offsets.clone();
        int[] rowToken = new int[rows];
        float[] rowGate = new float[rows];
        for (int i = 0; i < rows; i++) {
            int r = fill[expert[i]]++;
            rowToken[r] = i / TOP_K;
            rowGate[r] = gates[i];
        }
        int[] tokenStart = new int[TOKENS + 1];
        for (int t : rowToken) tokenStart[t + 1]++;
        for (int t = 0; t < TOKENS; t++) tokenStart[t + 1] += tokenStart[t];
        int[] tfill = java.util.Arrays.copyOf(tokenStart, TOKENS);
        int[] tokenRows = new int[rows];
        for (int r = 0; r < rows; r++) tokenRows[tfill[rowToken[r]]++] = r;
        IntTensor index = new IntTensor(rowToken, new int[] {rows});

        MoeLayer layer = new MoeLayer(MoeConfig.of(DIM, HIDDEN, EXPERTS, TOP_K),
                Routers.create("topk", MoeConfig.of(DIM, HIDDEN, EXPERTS, TOP_K), rng.split()), rng.split());
        RoutingContext ctx = RoutingContext.training("speed", rng.split());
        long layerBest = Long.MAX_VALUE, layerBytes = 0;
        for (int it = 0; it < 2 * (iterations + 3); it++) {
            boolean record = it >= 6;
            composed = it % 2 == 0;
            start();
            Tensor xr = Gathering.indexSelect(x, 0, index);
            lap("indexSelect", record);
            Tensor u = GroupedGemm.forward(xr, upW, offsets);
            lap("fwd up", record);
            Tensor g = GroupedGemm.forward(xr, gateW, offsets);
            lap("fwd gate", record);
            Tensor h = GluKernels.swiglu(g, u);
            lap("swiglu", record);
            Tensor y = GroupedGemm.forward(h, downW, offsets);
            lap("fwd down", record);
            Tensor out = GatedScatter.forward(y, rowGate, null, tokenStart, tokenRows, TOKENS);
            lap("combine", record);
            Tensor dy = GatedScatter.backwardRows(upstream, rowGate, null, rowToken);
            GatedScatter.backwardGates(y, upstream, rowToken);
            lap("combine bwd", record);
            Tensor dDown = GroupedGemm.backwardWeight(dy, h, offsets);
            lap("bwd down dW", record);
            Tensor[] dgu;
            if (composed) {
                Tensor dh = GroupedGemm.backwardInput(dy, downW, offsets);
                lap("bwd down dx", record);
                dgu = GluKernels.swigluBackward(g, u, dh);
                lap("swiglu bwd", record);
            } else {
                dgu = GroupedGemm.backwardSwiglu(dy, downW, g, u, offsets);
                lap("bwd down dx+swiglu", record);
            }
            Tensor dxg = GroupedGemm.backwardInput(dgu[0], gateW, offsets);
            lap("bwd gate dx", record);
            if (composed) {
                Tensor dxu = GroupedGemm.backwardInput(dgu[1], upW, offsets);
                lap("bwd up dx", record);
                Elementwise.addInPlace(dxg, dxu);
                lap("accumulate dx", record);
            } else {
                GroupedGemm.backwardInputAdd(dgu[1], upW, offsets, dxg);
                lap("bwd up dx+=", record);
            }
            Tensor dGate = GroupedGemm.backwardWeight(dgu[0], xr, offsets);
            lap("bwd gate dW", record);
            Tensor dUp = GroupedGemm.backwardWeight(dgu[1], xr, offsets);
            lap("bwd up dW", record);
            Tensor dx = Gathering.indexAdd(upstream.newZeros(TOKENS, DIM), 0, index, dxg);
            lap("indexSelect bwd", record);
            if (Float.isNaN(out.get(0, 0) + dx.get(0, 0) + dDown.get(0, 0, 0) + dGate.get(0, 0, 0) + dUp.get(0, 0, 0))) {
                throw new IllegalStateException("NaN");
            }
            lap("total", record);
            if (composed) continue;
            long c0 = CLOCK.getCurrentThreadCpuTime();
            long b0 = CLOCK.getCurrentThreadAllocatedBytes();
            layer.zeroGrad();
            MoeOutput o = layer.forward(Variable.parameter(x), ctx, ExpertImpl.GROUPED);
            o.output().backward(upstream);
            long c = CLOCK.getCurrentThreadCpuTime() - c0;
            layerBytes = CLOCK.getCurrentThreadAllocatedBytes() - b0;
            if (record) layerBest = Math.min(layerBest, c);
        }

        double gemmFlops = 2.0 * rows * DIM * HIDDEN; // one projection, forward
        for (Map.Entry<String, Long> e : best.entrySet()) {
            String name = e.getKey();
            double ms = e.getValue() / 1e6;
            long bytes = allocated.get(name);
            String rate = (name.startsWith("fwd") || name.startsWith("bwd")) && !name.contains("+")
                    ? String.format(Locale.ROOT, "  %6.1f GFLOP/s", gemmFlops / e.getValue()) : "";
            System.out.printf(Locale.ROOT, "%-22s %8.2f ms %6.1f MiB%s%n", name, ms, bytes / 1048576.0, rate);
        }
        System.out.printf(Locale.ROOT, "%-22s %8.2f ms %6.1f MiB (MoeLayer forward+backward, min of %d)%n", "layer",
                layerBest / 1e6, layerBytes / 1048576.0, iterations);
        // The in-cache dense peer: one expert's forward shape, operands reused.
        int m = rows / EXPERTS;
        float[] a = random(rng, m, DIM).floats(), b = random(rng, DIM, HIDDEN).floats(), c = new float[m * HIDDEN];
        long denseBest = Long.MAX_VALUE;
        for (int it = 0; it < iterations + 3; it++) {
            long c0 = CLOCK.getCurrentThreadCpuTime();
            for (int i = 0; i < 8; i++) Gemm.sgemm(false, false, m, HIDDEN, DIM, 1f, a, 0, DIM, b, 0, HIDDEN, 0f, c, 0, HIDDEN);
            long t = CLOCK.getCurrentThreadCpuTime() - c0;
            if (it >= 3) denseBest = Math.min(denseBest, t);
        }
        System.out.printf(Locale.ROOT, "dense sgemm %dx%dx%d in cache: %.1f GFLOP/s%n", m, HIDDEN, DIM,
                8 * 2.0 * m * HIDDEN * DIM / denseBest);
    }

    private void start() {
        mark = CLOCK.getCurrentThreadCpuTime();
        iterationStart = mark;
        markBytes = CLOCK.getCurrentThreadAllocatedBytes();
    }

    private void lap(String name, boolean record) {
        long now = CLOCK.getCurrentThreadCpuTime();
        if (name.equals("total")) {
            name = composed ? "total, composed" : "total, fused";
            mark = iterationStart;
        } else if (!composed) {
            name = name + " *";
        }
        long bytes = CLOCK.getCurrentThreadAllocatedBytes();
        if (record) best.merge(name, now - mark, Math::min);
        else best.putIfAbsent(name, Long.MAX_VALUE);
        allocated.put(name, bytes - markBytes);
        mark = now;
        markBytes = bytes;
    }

    private static Tensor random(Rng rng, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] v = t.floats();
        for (int i = 0; i < v.length; i++) v[i] = (float) rng.normal();
        return t;
    }
}
