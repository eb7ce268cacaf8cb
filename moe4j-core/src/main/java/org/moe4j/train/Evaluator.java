package org.moe4j.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Variable;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.RoutingContext;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.train.data.Batch;
import org.moe4j.train.data.Dataset;
import org.moe4j.train.report.ClassExpertCounts;

/**
 * Inference over a whole dataset: loss, accuracy, router telemetry per layer, and the class x expert matrix of each
 * MoE layer. Batches hold one class each, so a batch's telemetry is that class's expert use; at inference routing
 * does not depend on what else is in the batch (dropless, ties by expert index), so this changes no prediction.
 */
public final class Evaluator {
    private Evaluator() {}

    /**
     * What an evaluation found.
     *
     * @param loss        mean cross-entropy
     * @param accuracy    share of examples whose largest logit is the label
     * @param examples    examples seen
     * @param layers      router telemetry summed over the data, per MoE layer in layer order
     * @param classExpert per MoE layer, [classes][experts] assignments
     */
    public record Result(double loss, double accuracy, long examples, List<RouterStats> layers,
            List<ClassExpertCounts> classExpert) {}

    /** Evaluates {@code model} on {@code data} in batches of at most {@code batchSize}. */
    public static Result evaluate(TrainableModel model, Dataset data, int batchSize) {
        int classes = data.numClasses();
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) byClass.add(new ArrayList<>());
        int[] y = data.labels().data();
        for (int i = 0; i < y.length; i++) byClass.get(y[i]).add(i);

        double lossSum = 0;
        long correct = 0, seen = 0;
        Map<String, RouterStats> totals = new LinkedHashMap<>();
        Map<String, long[][]> tallies = new LinkedHashMap<>();
        try (GradMode g = GradMode.off()) {
            for (int c = 0; c < classes; c++) {
                int[] rows = byClass.get(c).stream().mapToInt(Integer::intValue).toArray();
                for (int from = 0; from < rows.length; from += batchSize) {
                    int to = Math.min(rows.length, from + batchSize);
                    Batch b = data.batch(rows, from, to);
                    TrainableModel.Output out = model.forward(Variable.constant(b.features()), RoutingContext.inference("model"));
                    lossSum += Losses.crossEntropy(out.logits(), b.labels()).value().item() * b.size();
                    correct += correct(out.logits().value(), b.labels());
                    seen += b.size();
                    for (RouterStats s : out.stats()) {
                        totals.merge(s.layer(), s, RouterStats::merge);
                        long[][] t = tallies.computeIfAbsent(s.layer(), k -> new long[classes][s.experts()]);
                        for (int e = 0; e < s.experts(); e++) t[c][e] += s.routed()[e];
                    }
                }
            }
        }
        List<ClassExpertCounts> matrices = new ArrayList<>();
        tallies.forEach((layer, t) -> matrices.add(new ClassExpertCounts(layer, t)));
        return new Result(seen == 0 ? Double.NaN : lossSum / seen, seen == 0 ? Double.NaN : (double) correct / seen, seen,
                new ArrayList<>(totals.values()), matrices);
    }

    /** How many rows of logits [b, classes] have their largest value (the first, on ties) at the label. */
    static long correct(Tensor logits, IntTensor labels) {
        int b = logits.dim(0), k = logits.dim(1);
        double[] l = logits.toDoubleArray(); // [b, classes]
        long n = 0;
        int[] y = labels.data();
        for (int i = 0; i < b; i++) {
            int best = 0;
            double bestValue = l[i * k];
            for (int j = 1; j < k; j++) {
                double v = l[i * k + j];
                if (v > bestValue) {
                    best = j;
                    bestValue = v;
                }
            }
            if (best == y[i]) n++;
        }
        return n;
    }
}
