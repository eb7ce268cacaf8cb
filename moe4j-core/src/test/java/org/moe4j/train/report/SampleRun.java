package org.moe4j.train.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.common.Rng;
import org.moe4j.moe.RouterStats;
import org.moe4j.train.progress.MetricsHistory;
import org.moe4j.train.progress.MetricsRecord;
import org.moe4j.train.progress.MetricsRecord.Eval;
import org.moe4j.train.progress.MetricsRecord.Routing;
import org.moe4j.train.progress.MetricsRecord.Step;
import org.moe4j.train.progress.MetricsRecord.Summary;

/**
 * A made-up but plausible training run (a Fashion-MNIST MoE-CNN with two MoE layers) for the report's tests
 * and for looking at the page: falling loss, rising accuracy, experts that specialise, a capacity layer that
 * drops a little early on.
 */
final class SampleRun {
    static final List<String> FASHION = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
            "Sneaker", "Bag", "Ankle boot");

    private SampleRun() {}

    static MetricsHistory metrics(int epochs, int stepsPerEpoch, int experts, long seed) {
        Rng rng = new Rng(seed);
        List<MetricsRecord> records = new ArrayList<>();
        int total = epochs * stepsPerEpoch;
        long[][] window = new long[2][experts];
        long[] droppedWindow = new long[experts];
        double entropyWindow = 0;
        int windowTokens = 0;
        for (int s = 1; s <= total; s++) {
            int epoch = (s - 1) / stepsPerEpoch + 1;
            double progress = (double) s / total;
            double loss = 0.25 + 2.05 * Math.exp(-6 * progress) + 0.12 * rng.normal() * Math.exp(-progress);
            double acc = Math.clamp(0.94 - 0.84 * Math.exp(-7 * progress) + 0.04 * rng.normal(), 0, 1);
            double lr = s < total / 20 ? 1e-3 * s / (total / 20.0) : 1e-3 * 0.5 * (1 + Math.cos(Math.PI * progress));
            records.add(new Step(s, epoch, Math.max(0.01, loss), acc, lr, 940 + 30 * rng.normal(), s * 0.068,
                    0.012 * (1 + Math.exp(-4 * progress))));
            // Router load: starts near even, expert 0 of layer 0 grows popular, then balancing pulls it back.
            double[][] weights = new double[2][experts];
            double[] sums = new double[2];
            for (int layer = 0; layer < 2; layer++) {
                for (int e = 0; e < experts; e++) {
                    weights[layer][e] = 1 + (layer == 0 && e == 0 ? 2.5 * Math.sin(Math.PI * progress) : 0.3 * e * progress)
                            + 0.2 * rng.nextDouble();
                    sums[layer] += weights[layer][e];
                }
            }
            for (int t = 0; t < 32; t++) {
                for (int layer = 0; layer < 2; layer++) {
                    double[] w = weights[layer];
                    double u = rng.nextDouble() * sums[layer];
                    int pick = 0;
                    while (pick < experts - 1 && (u -= w[pick]) > 0) pick++;
                    window[layer][pick]++;
                    if (layer == 1 && progress < 0.3 && rng.nextDouble() < 0.04 * (1 - progress / 0.3)) droppedWindow[pick]++;
                }
                entropyWindow += Math.log(experts) * (1 - 0.6 * progress);
                windowTokens++;
            }
            if (s % 25 == 0 || s == total) {
                records.add(new Routing(s, List.of(
                        new RouterStats("blocks.0.moe", windowTokens, window[0], new long[experts], entropyWindow, windowTokens, null),
                        new RouterStats("head.moe", windowTokens, window[1], droppedWindow, entropyWindow * 0.8, windowTokens,
                                null))));
                window = new long[2][experts];
                droppedWindow = new long[experts];
                entropyWindow = 0;
                windowTokens = 0;
            }
            if (s % stepsPerEpoch == 0) {
                double p = progress;
                records.add(new Eval(s, epoch, "validation", 0.3 + 1.6 * Math.exp(-6 * p), 0.925 - 0.6 * Math.exp(-7 * p),
                        Double.NaN));
            }
        }
        records.add(new Eval(total, epochs, "test", 0.29, 0.9271, Double.NaN));
        records.add(new Summary(total, epochs, total * 0.068, 941, 0.27, 0.29, 0.9271, "completed"));
        return MetricsHistory.of(records);
    }

    static ReportInput input(int experts, long seed) {
        Rng rng = new Rng(seed);
        Map<String, String> config = new LinkedHashMap<>();
        config.put("model", "moe-cnn");
        config.put("trunk", "conv 32-64, 3x3, max-pool");
        config.put("experts", Integer.toString(experts));
        config.put("top-k", "2");
        config.put("router", "softmax-top-k (renormalised)");
        config.put("hidden", "512 per expert");
        config.put("optimizer", "AdamW lr 1e-3, weight decay 0.01, warmup 5%, cosine");
        config.put("batch", "64");
        config.put("epochs", "7");
        config.put("aux loss weight", "0.01 (Switch load balancing)");
        Map<String, String> provenance = new LinkedHashMap<>();
        provenance.put("seed", "42");
        provenance.put("data", "fashion-mnist:/usr/share/datasets/fashion-mnist");
        provenance.put("data sha-256", "8d4fb7e6c68d591d4c3dfef9ec88bf0d8d4fb7e6c68d591d4c3dfef9ec88bf0d");
        provenance.put("code version", "0.1.0-SNAPSHOT (git 4397b0a)");
        provenance.put("JVM", "OpenJDK 25+36, 2 threads");
        provenance.put("Vector species", "Species[float, 16, S_512_BIT]");
        List<ClassExpertCounts> matrices = new ArrayList<>();
        for (String layer : List.of("blocks.0.moe", "head.moe")) {
            long[][] counts = new long[FASHION.size()][experts];
            for (int c = 0; c < counts.length; c++) {
                // Each class leans on one or two experts (clothes share, shoes share), plus noise.
                int favourite = (c * 3) % experts, second = (c + (layer.startsWith("head") ? 5 : 1)) % experts;
                for (int e = 0; e < experts; e++) {
                    double w = 40 + 60 * rng.nextDouble() + (e == favourite ? 900 : 0) + (e == second ? 350 : 0);
                    counts[c][e] = Math.round(w * (layer.startsWith("head") ? 1 : 1.5));
                }
            }
            matrices.add(new ClassExpertCounts(layer, counts));
        }
        return new ReportInput("moe-cnn on Fashion-MNIST", config, provenance, FASHION, matrices);
    }
}
