package org.moe4j.moe;

import java.util.Arrays;
import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Auxiliary-loss-free balancing of DeepSeek-V3 (DeepSeek-AI 2024, "DeepSeek-V3 Technical Report"): sigmoid scores
 * s = sigmoid(x . W^T) choose each token's top-k experts after a per-expert bias b is added, and the chosen
 * experts are weighted by the unbiased s; the trainer nudges b after each step toward balanced load.
 *
 * <p>The bias only selects: it is plain state on the router, not a parameter, and no gradient reaches it.
 * {@link #updateBias(long[])} applies V3's rule b_i += gamma * sign(mean load - load_i): overloaded experts become
 * less attractive, underloaded ones more. Selection may be group-limited (V3's node-limited routing): each token
 * first keeps its best {@code topkGroups} groups, a group scored by the sum of its two best s + b. Gates are s at
 * the chosen experts, normalised to sum 1 over the k when {@code normTopkProb} (V3's setting), times
 * {@code routedScaling}.
 *
 * <p>V3 complements the bias with a small sequence-wise balance loss; {@link MoeConfig}'s
 * {@link BalanceScope#SEQUENCE} computes it from the probabilities handed to the layer, which are s normalised per
 * token (s_i / sum_j s_j), as V3 defines them for that loss.
 */
public final class SigmoidBiasRouter extends Module implements Router {
    /** DeepSeek-V3's bias update speed gamma (the paper uses 0.001 for most of training). */
    public static final double DEFAULT_BIAS_UPDATE_SPEED = 1e-3;

    /**
     * @param groups          expert groups (V3: one per node); 1 = no group limit
     * @param topkGroups      groups a token may use, 1..groups
     * @param normTopkProb    normalise the k gates to sum 1 (V3's norm_topk_prob)
     * @param routedScaling   multiplies every gate (V3's routed_scaling_factor, 2.5 in V3)
     * @param biasUpdateSpeed gamma of the bias update
     */
    public record Config(int dim, int experts, int k, int groups, int topkGroups, boolean normTopkProb,
            double routedScaling, double biasUpdateSpeed) {
        public Config {
            String self = "sigmoid-bias router";
            ConfigChecks.dimAndExperts(self, dim, experts);
            if (groups < 1 || experts % groups != 0) {
                throw new Moe4jException(self + ": " + groups + " groups do not divide " + experts + " experts evenly");
            }
            ConfigChecks.inRange(self, "topkGroups", topkGroups, 1, groups);
            int reachable = topkGroups * (experts / groups);
            if (k < 1 || k > reachable) {
                throw new Moe4jException(self + ": k must be in [1, " + reachable + "] (the experts in " + topkGroups
                        + " of " + groups + " groups), got " + k);
            }
            if (groups > 1 && experts / groups < 2) {
                throw new Moe4jException(self + ": a group's score is the sum of its two best experts, so groups need at"
                        + " least 2 experts; " + groups + " groups of " + experts + " experts hold " + experts / groups);
            }
            ConfigChecks.positive(self, "routed scaling", routedScaling);
            ConfigChecks.nonNegative(self, "bias update speed", biasUpdateSpeed);
        }

        /** No group limit, normalised gates, scaling 1, gamma 1e-3. */
        public static Config of(int dim, int experts, int k) {
            return new Config(dim, experts, k, 1, 1, true, 1.0, DEFAULT_BIAS_UPDATE_SPEED);
        }

        public Config withK(int newK) {
            return new Config(dim, experts, newK, groups, topkGroups, normTopkProb, routedScaling, biasUpdateSpeed);
        }

        public Config withGroups(int newGroups, int newTopkGroups) {
            return new Config(dim, experts, k, newGroups, newTopkGroups, normTopkProb, routedScaling, biasUpdateSpeed);
        }

        public Config withNormTopkProb(boolean norm) {
            return new Config(dim, experts, k, groups, topkGroups, norm, routedScaling, biasUpdateSpeed);
        }

        public Config withRoutedScaling(double s) {
            return new Config(dim, experts, k, groups, topkGroups, normTopkProb, s, biasUpdateSpeed);
        }

        public Config withBiasUpdateSpeed(double gamma) {
            return new Config(dim, experts, k, groups, topkGroups, normTopkProb, routedScaling, gamma);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("sigmoid-bias",
            "DeepSeek-AI 2024, DeepSeek-V3 Technical Report (auxiliary-loss-free load balancing)",
            "Sigmoid scores plus a per-expert bias choose the top-k experts (optionally within the best groups); the "
                    + "gates are the unbiased scores, and the trainer nudges the bias toward balanced load after each step.",
            (c, rng) -> new SigmoidBiasRouter(Config.of(c.dim(), c.experts(), c.topK()), rng));

    private final Config config;
    private final Variable weight; // [experts, dim]
    private final GroupLimitedSelection selection;
    // [experts] b; replaced whole, never written in place, so a route running beside an update sees one consistent b
    private volatile double[] bias;

    public SigmoidBiasRouter(Config config, Rng rng) {
        this.config = config;
        this.weight = parameter("weight", Init.kaimingUniform(rng, config.dim(), config.experts(), config.dim()));
        this.selection = new GroupLimitedSelection(config.experts(), config.groups(), config.topkGroups(), config.k(),
                config.groups() == 1 ? GroupLimitedSelection.GroupScore.MAX : GroupLimitedSelection.GroupScore.TOP2_SUM);
        this.bias = new double[config.experts()];
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        Variable logits = RouterSupport.logits(x, weight, ctx);
        Variable scores = Activations.sigmoid(logits); // [tokens, experts]
        int tokens = logits.dim(0), experts = config.experts();
        double[] b = bias;
        double[] biased = scores.value().toDoubleArray();
        for (int i = 0; i < biased.length; i++) biased[i] += b[i % experts];
        IntTensor idx = selection.select(Tensor.ofDoubles(biased, tokens, experts));

        Variable gates = Indexing.gather(scores, 1, idx);
        if (config.normTopkProb()) gates = RouterSupport.renormalize(gates);
        if (config.routedScaling() != 1.0) gates = Arith.mulScalar(gates, config.routedScaling());
        Variable probs = Arith.div(scores, Reductions.sum(scores, 1, true));
        return new RouterOutput.Sparse(RouterSupport.fromChoices(idx, gates, experts), probs, logits, null);
    }

    /**
     * One step of the bias update from the tokens each expert received in the last step (e.g. the layer's
     * {@code RouterStats.routed()}): b_i += gamma * sign(mean load - load_i). Called by the trainer after the step.
     */
    public void updateBias(long[] loadPerExpert) {
        if (loadPerExpert == null || loadPerExpert.length != config.experts()) {
            throw new Moe4jException("sigmoid-bias router: updateBias needs the load of each of the " + config.experts()
                    + " experts, got " + (loadPerExpert == null ? "null" : loadPerExpert.length + " values"));
        }
        double mean = 0;
        for (long l : loadPerExpert) {
            if (l < 0) throw new Moe4jException("sigmoid-bias router: negative load " + l + " in updateBias");
            mean += l;
        }
        mean /= loadPerExpert.length;
        double gamma = config.biasUpdateSpeed();
        synchronized (this) { // two updates at once must not lose one
            double[] next = bias.clone();
            for (int e = 0; e < next.length; e++) next[e] += gamma * Math.signum(mean - loadPerExpert[e]);
            bias = next;
        }
    }

    /** As {@link #updateBias(long[])}, from {@link Assignments#loadPerExpert()}. */
    public void updateBias(int[] loadPerExpert) {
        updateBias(loadPerExpert == null ? null : Arrays.stream(loadPerExpert).asLongStream().toArray());
    }

    /** A copy of b [experts], for telemetry and checkpoints. */
    @Override
    public double[] selectionBias() {
        return bias.clone();
    }

    /** Restores b [experts], e.g. from a checkpoint; every value must be finite. */
    public synchronized void setSelectionBias(double[] b) {
        if (b == null || b.length != config.experts()) {
            throw new Moe4jException("sigmoid-bias router: the bias needs " + config.experts() + " values, got "
                    + (b == null ? "null" : b.length));
        }
        for (int e = 0; e < b.length; e++) {
            if (!Double.isFinite(b[e])) {
                throw new Moe4jException("sigmoid-bias router: bias " + b[e] + " of expert " + e + " is not finite");
            }
        }
        bias = b.clone();
    }

    @Override
    public int experts() {
        return config.experts();
    }

    public Config config() {
        return config;
    }

    public Variable weight() {
        return weight;
    }
}
