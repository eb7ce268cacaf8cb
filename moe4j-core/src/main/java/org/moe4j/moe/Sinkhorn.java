package org.moe4j.moe;

import java.util.Arrays;
import org.moe4j.common.Moe4jException;
import org.moe4j.kernel.TopK;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Sinkhorn routing, the balancing step of S-BASE (Clark et al. 2022, "Unified Scaling Laws for Routed Language
 * Models"; also Megatron-Core's sinkhorn router). Sinkhorn-Knopp scales exp(logits) [tokens, experts] until every
 * row sums to 1 and every column to tokens/experts, and tokens then take their top-k experts by that matrix.
 *
 * <p>The balanced matrix is {@code diag(u) exp(logits) diag(v)}: each iteration sets v so that the columns sum to
 * tokens/experts, then u so that the rows sum to 1. It runs in double on {@code exp(logit - rowMax)}: that
 * subtraction is absorbed by u, so it changes nothing but keeps exp from overflowing, and each row keeps an entry
 * of 1, so no row sum is ever 0. Megatron's version differs only by a global factor of 1/tokens, which leaves every
 * top-k choice the same. Only v decides each row's order, so the selection is the top-k of logit + log v.
 *
 * <p>An expert whose every logit lies over about 700 below its token's best underflows to a zero column; it
 * receives no mass and the column error stays at 1 until maxIterations, which the result reports.
 */
public final class Sinkhorn {
    public static final int DEFAULT_MAX_ITERATIONS = 100;
    /** Stop once every column sum is within this relative error of tokens/experts. */
    public static final double DEFAULT_TOLERANCE = 1e-4;

    /**
     * The balanced matrix (F64 [tokens, experts], rows summing to 1), the iterations run and the largest relative
     * column error {@code max |colSum - tokens/experts| / (tokens/experts)} that remained.
     */
    public record Result(Tensor balanced, int iterations, double columnError) {}

    private Sinkhorn() {}

    /** Balances exp(logits [tokens, experts]) with the default iterations and tolerance. */
    public static Result balance(Tensor logits) {
        return balance(logits, DEFAULT_MAX_ITERATIONS, DEFAULT_TOLERANCE);
    }

    /** Balances until the column error is at most {@code tolerance} or after {@code maxIterations} iterations. */
    public static Result balance(Tensor logits, int maxIterations, double tolerance) {
        double[] x = RoutingInput.matrix("sinkhorn", logits);
        if (maxIterations < 1) throw new Moe4jException("sinkhorn: maxIterations must be positive, got " + maxIterations);
        if (!(tolerance >= 0)) throw new Moe4jException("sinkhorn: tolerance must be >= 0, got " + tolerance);
        int tokens = logits.dim(0);
        int experts = logits.dim(1);
        if (tokens == 0) return new Result(Tensor.zeros(DType.F64, 0, experts), 0, 0);
        double[] k = x; // exp(logit - rowMax) in place: [tokens, experts]
        for (int t = 0; t < tokens; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) max = Math.max(max, k[t * experts + e]);
            for (int e = 0; e < experts; e++) k[t * experts + e] = Math.exp(k[t * experts + e] - max);
        }
        double target = (double) tokens / experts;
        double[] u = new double[tokens];
        double[] v = new double[experts];
        Arrays.fill(u, 1);
        Arrays.fill(v, 1);
        double[] colSum = new double[experts];
        int iterations = 0;
        double error = Double.POSITIVE_INFINITY;
        while (iterations < maxIterations) {
            columnSums(k, u, tokens, experts, colSum);
            if (iterations > 0) { // rows sum to 1 since the last row step: check the columns of the current matrix
                error = columnError(colSum, v, target);
                if (error <= tolerance) break;
            }
            for (int e = 0; e < experts; e++) {
                if (colSum[e] > 0) v[e] = target / colSum[e]; // a zero column cannot be scaled; leave it
            }
            for (int t = 0; t < tokens; t++) {
                double row = 0;
                for (int e = 0; e < experts; e++) row += k[t * experts + e] * v[e];
                u[t] = 1 / row;
            }
            iterations++;
        }
        if (iterations == maxIterations) {
            columnSums(k, u, tokens, experts, colSum);
            error = columnError(colSum, v, target);
        }
        for (int t = 0; t < tokens; t++) {
            for (int e = 0; e < experts; e++) k[t * experts + e] *= u[t] * v[e];
        }
        return new Result(Tensor.ofDoubles(k, tokens, experts), iterations, error);
    }

    /** Each token's top-k experts by the balanced matrix, [tokens, k], best first; ties to the lower index. */
    public static IntTensor topK(Tensor logits, int k) {
        return topK(logits, k, DEFAULT_MAX_ITERATIONS, DEFAULT_TOLERANCE);
    }

    public static IntTensor topK(Tensor logits, int k, int maxIterations, double tolerance) {
        if (logits.rank() == 2 && (k < 1 || k > logits.dim(1))) {
            throw new Moe4jException("sinkhorn: k=" + k + " must be between 1 and the " + logits.dim(1) + " experts");
        }
        Tensor balanced = balance(logits, maxIterations, tolerance).balanced();
        if (balanced.dim(0) == 0) return IntTensor.zeros(0, k);
        return TopK.topK(balanced, k, 1).indices();
    }

    /** Column sums of diag(u) K, before the column scaling v. */
    private static void columnSums(double[] k, double[] u, int tokens, int experts, double[] colSum) {
        Arrays.fill(colSum, 0);
        for (int t = 0; t < tokens; t++) {
            for (int e = 0; e < experts; e++) colSum[e] += u[t] * k[t * experts + e];
        }
    }

    private static double columnError(double[] colSum, double[] v, double target) {
        double error = 0;
        for (int e = 0; e < colSum.length; e++) error = Math.max(error, Math.abs(colSum[e] * v[e] - target) / target);
        return error;
    }
}
