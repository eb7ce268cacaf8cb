package org.moe4j.moe;

import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Reductions;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.SmoothStep;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * DSelect-k (Hazimeh et al. 2021, "DSelect-k: Differentiable selection in the mixture of experts with
 * applications to multi-task learning"), per-example variant: k selectors each pick one expert through a binary
 * code of log2(experts) smooth steps, and a softmax mixes the k picks; once the smooth steps saturate at exactly
 * 0 or 1, at most k experts have nonzero weight, so the selection is sparse yet trained by ordinary gradients.
 *
 * <p>For token x: selector i has code logits {@code z_i = Z_i x} (m = log2 experts of them) and its weight on
 * expert e is {@code r_i(e) = prod_j (bit_j(e) ? S(z_ij) : 1 - S(z_ij))}, with bit j of e counted from the least
 * significant bit and S the cubic smooth-step of width gamma; r_i sums to 1 over the experts. The selectors are
 * combined as {@code w_e = sum_i softmax(A x)_i r_i(e)}, so w sums to 1. Experts whose w_e is exactly 0 get no
 * assignment; nothing is lost, since such a weight is 0 only through saturated steps, whose gradient is 0 too.
 *
 * <p>The router loss is the paper's entropy regularizer, {@code entropyWeight} times the mean over tokens of
 * {@code sum_i H(r_i)} (with {@code r log(r + 1e-6)} so it stays differentiable at 0), which pushes each code
 * towards binary; training only, 0 = off. The layer's balance loss and routing entropy, when configured, see w
 * as the router probabilities. The code weights start uniform in {@code +-gamma/100} so every selector begins
 * undecided, inside the smooth region.
 */
public final class DSelectKRouter extends Module implements Router {
    private static final double ENTROPY_EPS = 1e-6;

    /**
     * @param k             selectors: at most k experts per token once the codes are binary
     * @param gamma         width of the smooth step's band; outside it S is exactly 0 or 1
     * @param entropyWeight weight of the entropy regularizer on the selectors; 0 = off
     */
    public record Config(int dim, int experts, int k, double gamma, double entropyWeight) {
        public Config {
            String self = "dselect-k router";
            ConfigChecks.dimAndExperts(self, dim, experts);
            if (experts < 2 || Integer.bitCount(experts) != 1) {
                throw new Moe4jException(self + ": experts must be a power of two >= 2 (each selector encodes an expert"
                        + " in log2(experts) binary digits), got " + experts);
            }
            ConfigChecks.inRange(self, "k", k, 1, experts);
            ConfigChecks.positive(self, "gamma", gamma);
            ConfigChecks.nonNegative(self, "entropy weight", entropyWeight);
        }

        /** gamma 1, no entropy regularizer. */
        public static Config of(int dim, int experts, int k) {
            return new Config(dim, experts, k, 1.0, 0);
        }

        public Config withGamma(double g) {
            return new Config(dim, experts, k, g, entropyWeight);
        }

        public Config withEntropyWeight(double w) {
            return new Config(dim, experts, k, gamma, w);
        }

        /** Binary digits per code: log2(experts). */
        public int bits() {
            return Integer.numberOfTrailingZeros(experts);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("dselectk",
            "Hazimeh et al. 2021, DSelect-k: Differentiable selection in the mixture of experts",
            "k selectors each choose an expert through a binary code of smooth steps, mixed by a softmax; exactly "
                    + "sparse (at most k experts) once the steps saturate, trained by plain gradients.",
            (c, rng) -> new DSelectKRouter(Config.of(c.dim(), c.experts(), c.topK()), rng));

    private final Config config;
    private final Variable codeWeight; // [k * bits, dim]: row i * bits + j gives z_ij
    private final Variable selectorWeight; // [k, dim]: the logits of the softmax over selectors
    private final Tensor bitTable; // [bits, experts]: bit j of e, in the parameters' dtype
    private final Tensor clearTable; // [bits, experts]: 1 - bit j of e

    public DSelectKRouter(Config config, Rng rng) {
        this.config = config;
        int m = config.bits(), e = config.experts();
        this.codeWeight = parameter("codeWeight", Init.uniform(rng, config.gamma() / 100, config.k() * m, config.dim()));
        this.selectorWeight = parameter("selectorWeight", Init.kaimingUniform(rng, config.dim(), config.k(), config.dim()));
        this.bitTable = codeWeight.value().newZeros(m, e);
        this.clearTable = codeWeight.value().newZeros(m, e);
        for (int j = 0; j < m; j++) {
            for (int ex = 0; ex < e; ex++) {
                bitTable.storage().set(j * e + ex, (ex >> j) & 1);
                clearTable.storage().set(j * e + ex, 1 - ((ex >> j) & 1));
            }
        }
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        int tokens = x.dim(0), k = config.k(), m = config.bits(), e = config.experts();
        Variable z = RouterSupport.logits(x, codeWeight, ctx); // [tokens, k * bits]
        Variable alpha = Losses.softmax(RouterSupport.logits(x, selectorWeight, ctx), -1); // [tokens, k]
        Variable r = selectorWeights(z, tokens); // [tokens, k, experts]
        Variable w = Reductions.sum(Arith.mul(r, Shaping.reshape(alpha, tokens, k, 1)), 1, false); // [tokens, experts]

        int[] choice = new int[tokens * e]; // e where w_e is nonzero, else -1 (no assignment)
        Tensor wv = w.value();
        for (int i = 0; i < choice.length; i++) choice[i] = wv.storage().get(wv.storageIndex(i)) != 0 ? i % e : -1;
        Assignments a = RouterSupport.fromChoices(new IntTensor(choice, new int[] {tokens, e}), w, e);

        Variable loss = null;
        if (ctx.training() && config.entropyWeight() > 0) {
            Variable plogp = Arith.mul(r, Activations.log(Arith.addScalar(r, ENTROPY_EPS)));
            loss = Arith.mulScalar(Reductions.sum(plogp), -config.entropyWeight() / tokens);
        }
        return new RouterOutput.Sparse(a, w, null, loss);
    }

    /** r[t, i, e] = prod_j (bit_j(e) ? S(z_tij) : 1 - S(z_tij)) from z [tokens, k * bits]. */
    private Variable selectorWeights(Variable z, int tokens) {
        int k = config.k(), m = config.bits(), e = config.experts();
        Variable s = Shaping.reshape(SmoothStep.smoothStep(z, config.gamma()), tokens, k, m, 1);
        // bit ? S : 1 - S as S * bit + (1 - S) * (1 - bit): each product by 0 or 1 is exact, so a factor is
        // exactly S or 1 - S, never a rounding residue, and exactly 0 where a saturated step disagrees with the bit.
        Variable factors = Arith.add(Arith.mul(s, Variable.constant(bitTable)),
                Arith.mul(Arith.rsubScalar(s, 1), Variable.constant(clearTable)));
        Variable r = Shaping.narrow(factors, 2, 0, 1); // [tokens, k, 1, experts]
        for (int j = 1; j < m; j++) r = Arith.mul(r, Shaping.narrow(factors, 2, j, 1));
        return Shaping.reshape(r, tokens, k, e);
    }

    @Override
    public int experts() {
        return config.experts();
    }

    public Config config() {
        return config;
    }

    /** [k * bits, dim]: row {@code i * bits + j} gives selector i's code logit for bit j. */
    public Variable codeWeight() {
        return codeWeight;
    }

    /** [k, dim]: the logits of the softmax that mixes the selectors. */
    public Variable selectorWeight() {
        return selectorWeight;
    }
}
