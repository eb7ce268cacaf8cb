package org.moe4j.moe;

import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.Tensor;

/** Auxiliary losses that keep experts in use and routers stable. */
public final class BalanceLosses {
    private BalanceLosses() {}

    /**
     * The Switch/GShard load-balancing loss {@code E * sum_i f_i P_i}: f_i the fraction of assignments expert i
     * received (a constant), P_i the mean router probability of expert i (differentiable). It is 1 when both are
     * uniform and grows as load and probability concentrate on the same experts.
     *
     * @param probs [tokens, experts]
     * @param load  [experts] assignment counts behind f
     */
    public static Variable loadBalance(Variable probs, double[] loadFraction) {
        int experts = probs.dim(1);
        if (loadFraction.length != experts) {
            throw new Moe4jException("load balance: " + loadFraction.length + " load fractions for " + experts + " experts");
        }
        Variable meanProb = Reductions.mean(probs, new int[] {0}, false); // [experts]
        Tensor f = meanProb.value().newZeros(experts);
        for (int e = 0; e < experts; e++) f.storage().set(e, loadFraction[e] * experts);
        return Reductions.sum(Arith.mul(meanProb, Variable.constant(f)));
    }

    /** Fractions of {@code load} (summing to 1; all zero if there is no load). */
    public static double[] fractions(int[] load) {
        long total = 0;
        for (int l : load) total += l;
        double[] f = new double[load.length];
        for (int e = 0; e < f.length; e++) f[e] = total == 0 ? 0 : (double) load[e] / total;
        return f;
    }

    /**
     * The loss of {@link #loadBalance} for each sequence on its own, averaged (DeepSeek-V2): balance is asked of
     * every sequence, not only of the batch. {@code sequenceStarts} lists the first row of each sequence, from 0.
     */
    public static Variable sequenceLoadBalance(Variable probs, Assignments a, int[] sequenceStarts) {
        int tokens = probs.dim(0);
        RoutingContext.checkSequenceStarts("sequence load balance", sequenceStarts, tokens);
        int sequences = sequenceStarts.length;
        Variable total = null;
        for (int s = 0; s < sequences; s++) {
            int from = sequenceStarts[s];
            int to = s + 1 < sequences ? sequenceStarts[s + 1] : tokens;
            int[] load = new int[a.experts()];
            for (int i = 0; i < a.size(); i++) {
                if (a.token()[i] >= from && a.token()[i] < to) load[a.expert()[i]]++;
            }
            Variable part = loadBalance(Shaping.narrow(probs, 0, from, to - from), fractions(load));
            total = total == null ? part : Arith.add(total, part);
        }
        return Arith.mulScalar(total, 1.0 / sequences);
    }

    /**
     * The router z-loss of ST-MoE (Zoph et al. 2022): the mean squared log-sum-exp of each token's logits, which
     * keeps logits small so the softmax stays in a numerically safe range.
     */
    public static Variable zLoss(Variable logits) {
        // logsumexp(x) = x_0 - logSoftmax(x)_0, which reuses the stable log-softmax.
        Variable lse = Arith.sub(Shaping.narrow(logits, 1, 0, 1), Shaping.narrow(Losses.logSoftmax(logits, 1), 1, 0, 1));
        return Reductions.mean(Arith.mul(lse, lse));
    }

    /**
     * Shazeer et al. (2017)'s importance loss: the squared coefficient of variation of each expert's summed gate
     * over the batch, so no expert is favoured in total weight. {@code gatesPerExpert} is [tokens, experts].
     */
    public static Variable importance(Variable gatesPerExpert) {
        return squaredCv(Reductions.sum(gatesPerExpert, new int[] {0}, false));
    }

    /** CV^2 = var / mean^2 of a 1-d vector (population variance), differentiable. */
    public static Variable squaredCv(Variable v) {
        Variable mean = Reductions.mean(v);
        Variable centered = Arith.sub(v, mean);
        Variable var = Reductions.mean(Arith.mul(centered, centered));
        return Arith.div(var, Arith.addScalar(Arith.mul(mean, mean), 1e-10));
    }
}
