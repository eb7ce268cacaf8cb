package org.moe4j.moe;

import org.moe4j.autograd.Activations;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.nn.Init;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * A sparse Mixture-of-Experts feed-forward layer: the router picks experts, tokens are permuted so each expert's
 * tokens are contiguous, each expert runs one GEMM over exactly its tokens, and the outputs return to their
 * tokens weighted by their gates. Shared experts, when configured, see every token. Routers that do not pick
 * experts are served too: SMEAR's merged experts (one weighted average of the experts per group of tokens) and
 * Mixture of Tokens (each expert sees a weighted mixture of each group of tokens).
 *
 * <p>Stateless per call: everything a call needs lives in its {@link RoutingContext} and local variables, so one
 * layer serves many threads.
 */
public final class MoeLayer extends Module {
    private final MoeConfig config;
    private final Router router;
    private final Experts experts;
    private final Experts shared; // one wide expert standing for all shared experts, or null
    private final Variable sharedGate; // [1, dim] (Qwen2-MoE), or null

    public MoeLayer(MoeConfig config, Router router, Rng rng) {
        if (router.experts() != config.experts()) {
            throw new Moe4jException("moe: router has " + router.experts() + " experts, config " + config.experts());
        }
        this.config = config;
        this.router = router;
        child("router", (Module) router);
        this.experts = child("experts", new Experts(config.expertKind(), config.experts(), config.dim(), config.hidden(),
                config.expertBias(), rng));
        // S shared FFNs summed equal one FFN whose hidden layer is their hidden layers side by side.
        this.shared = config.sharedExperts() == 0 ? null : child("shared", new Experts(config.expertKind(), 1,
                config.dim(), config.sharedExperts() * config.sharedHidden(), config.expertBias(), rng));
        this.sharedGate = config.sharedGate() && shared != null
                ? parameter("sharedGate", Init.kaimingUniform(rng, config.dim(), 1, config.dim()))
                : null;
    }

    /** x [..., dim] to an output of the same shape, with auxiliary loss and telemetry. */
    public MoeOutput forward(Variable x, RoutingContext ctx) {
        return forward(x, ctx, ExpertImpl.GROUPED);
    }

    /** As {@link #forward(Variable, RoutingContext)}, running the routed experts by {@code impl} (for benchmarks). */
    public MoeOutput forward(Variable x, RoutingContext ctx, ExpertImpl impl) {
        int[] shape = x.shape();
        if (shape[shape.length - 1] != config.dim()) {
            throw ShapeException.of("moe layer " + ctx.layer(), "last axis must be " + config.dim(), shape);
        }
        int tokens = x.value().numel() / config.dim();
        Variable flat = Shaping.reshape(x, tokens, config.dim());
        RouterOutput routed = router.route(flat, ctx);
        Result r = switch (routed) {
            case RouterOutput.Sparse s -> sparse(flat, s, tokens, ctx, impl);
            case RouterOutput.Merged m -> merged(flat, m, tokens, ctx);
            case RouterOutput.TokenMix m -> tokenMix(flat, m, tokens, ctx);
        };
        Variable y = r.output;
        if (shared != null) y = Arith.add(y, sharedOutput(flat));
        return new MoeOutput(Shaping.reshape(y, shape), r.auxLoss, r.stats);
    }

    private record Result(Variable output, Variable auxLoss, RouterStats stats) {}

    private Result sparse(Variable x, RouterOutput.Sparse s, int tokens, RoutingContext ctx, ExpertImpl impl) {
        Assignments a = s.assignments();
        double factor = config.capacityFactor(ctx.training());
        DispatchPlan plan = factor > 0 ? DispatchPlan.withCapacity(a, factor, config.dropOrder()) : DispatchPlan.dropless(a);
        Variable y = impl == ExpertImpl.LOOP ? ExpertLoop.apply(experts, x, a, plan) : grouped(x, a, plan, tokens);
        Variable aux = auxLoss(s, a, ctx);
        return new Result(y, aux, stats(ctx, tokens, a, plan, s.probs()));
    }

    /**
     * SMEAR: group g's tokens (a contiguous run of rows) pass through one expert whose parameters are the
     * weighted average {@code sum_e w[g, e] * expert_e}. No balance loss applies: every expert serves every group.
     */
    private Result merged(Variable x, RouterOutput.Merged m, int tokens, RoutingContext ctx) {
        int[] group = m.groupOfToken();
        int groups = m.weights().dim(0);
        if (group.length != tokens) {
            throw new Moe4jException("moe layer " + ctx.layer() + ": merged routing gave " + group.length
                    + " group ids for " + tokens + " tokens");
        }
        // Groups are contiguous runs in order (whole sequences), so the rows need no permutation.
        int[] offsets = new int[groups + 1];
        for (int t = 0; t < tokens; t++) {
            int g = group[t];
            boolean next = t == 0 ? g == 0 : g == group[t - 1] || g == group[t - 1] + 1;
            if (!next || g >= groups) {
                throw new Moe4jException("moe layer " + ctx.layer() + ": merged routing needs groups 0.." + (groups - 1)
                        + " as contiguous runs of rows in order, got group " + g + " at token " + t);
            }
            offsets[g + 1] = t + 1;
        }
        if (tokens > 0 && group[tokens - 1] != groups - 1) {
            throw new Moe4jException("moe layer " + ctx.layer() + ": merged routing has " + groups
                    + " groups but its tokens use only " + (group[tokens - 1] + 1));
        }
        Variable y = experts.forwardMerged(x, offsets, m.weights());
        // Telemetry: every expert's parameters serve every token; the entropy is that of each group's weights.
        long[] everyToken = new long[config.experts()];
        java.util.Arrays.fill(everyToken, tokens);
        return new Result(y, null, stats(ctx, tokens, everyToken, new long[config.experts()], m.probs()));
    }

    /**
     * Mixture of Tokens: in each group of consecutive rows, expert e sees one mixed token {@code sum_t w[t, e] x_t}
     * and hands its output back to token t scaled by the same {@code w[t, e]}. The mixing and the redistribution
     * are batched matmuls over the groups; the experts run as one grouped GEMM with {@code groups} rows each.
     */
    private Result tokenMix(Variable x, RouterOutput.TokenMix m, int tokens, RoutingContext ctx) {
        int size = m.groupSize(), e = config.experts(), dim = config.dim();
        int groups = tokens / size;
        Variable mixing = m.mixing(); // [groups, experts, size]
        if (tokens % size != 0 || mixing.rank() != 3 || mixing.dim(0) != groups || mixing.dim(1) != e
                || mixing.dim(2) != size) {
            throw ShapeException.of("moe layer " + ctx.layer(), "token mixing must be [tokens / groupSize, experts,"
                    + " groupSize] for " + tokens + " tokens in groups of " + size, mixing.shape());
        }
        Variable mixed = LinearAlgebra.matmul(mixing, Shaping.reshape(x, groups, size, dim)); // [groups, experts, dim]
        // Expert-major rows, so each expert's mixed tokens are contiguous for the grouped GEMM.
        Variable rows = Shaping.reshape(Shaping.contiguous(Shaping.permute(mixed, 1, 0, 2)), e * groups, dim);
        int[] offsets = new int[e + 1];
        for (int i = 0; i <= e; i++) offsets[i] = i * groups;
        Variable out = experts.forward(rows, offsets); // [experts * groups, dim]
        Variable perGroup = Shaping.contiguous(Shaping.permute(Shaping.reshape(out, e, groups, dim), 1, 0, 2));
        Variable y = LinearAlgebra.matmul(Shaping.transpose(mixing, 1, 2), perGroup); // [groups, size, dim]
        long[] rowsPerExpert = new long[e]; // telemetry: the mixed rows each expert computed
        java.util.Arrays.fill(rowsPerExpert, groups);
        return new Result(Shaping.reshape(y, tokens, dim), null,
                stats(ctx, tokens, rowsPerExpert, new long[e], m.probs()));
    }

    private Variable grouped(Variable x, Assignments a, DispatchPlan plan, int tokens) {
        Variable rows = Indexing.indexSelect(x, 0, new IntTensor(plan.rowToken(), new int[] {plan.rows()}));
        return Combine.apply(experts.forward(rows, plan.offsets()), a.gates(), plan, tokens);
    }

    private Variable sharedOutput(Variable x) {
        Variable out = shared.forward(x, new int[] {0, x.dim(0)});
        if (sharedGate == null) return out;
        return Arith.mul(out, Activations.sigmoid(LinearAlgebra.linear(x, sharedGate, null)));
    }

    private Variable auxLoss(RouterOutput.Sparse s, Assignments a, RoutingContext ctx) {
        Variable total = s.routerLoss();
        if (config.balanceLossWeight() > 0 && s.probs() != null && ctx.training()) {
            Variable balance = switch (config.balanceScope()) {
                case MICRO_BATCH -> BalanceLosses.loadBalance(s.probs(), BalanceLosses.fractions(a.loadPerExpert()));
                case GLOBAL_BATCH -> {
                    if (ctx.loadTracker() == null) {
                        throw new Moe4jException("moe layer " + ctx.layer() + ": global-batch balance needs a LoadTracker in the routing context");
                    }
                    yield BalanceLosses.loadBalance(s.probs(), ctx.loadTracker().accumulate(a.loadPerExpert()));
                }
                case SEQUENCE -> ctx.sequenceStarts() == null
                        ? BalanceLosses.loadBalance(s.probs(), BalanceLosses.fractions(a.loadPerExpert()))
                        : BalanceLosses.sequenceLoadBalance(s.probs(), a, ctx.sequenceStarts());
            };
            total = add(total, Arith.mulScalar(balance, config.balanceLossWeight()));
        }
        if (config.zLossWeight() > 0 && s.logits() != null && ctx.training()) {
            total = add(total, Arith.mulScalar(BalanceLosses.zLoss(s.logits()), config.zLossWeight()));
        }
        return total;
    }

    private static Variable add(Variable a, Variable b) {
        return a == null ? b : Arith.add(a, b);
    }

    private RouterStats stats(RoutingContext ctx, int tokens, Assignments a, DispatchPlan plan, Variable probs) {
        long[] routed = new long[config.experts()];
        long[] dropped = new long[config.experts()];
        int[] load = a.loadPerExpert();
        for (int e = 0; e < routed.length; e++) {
            routed[e] = load[e];
            dropped[e] = plan.dropped()[e];
        }
        return stats(ctx, tokens, routed, dropped, probs);
    }

    /** Telemetry from per-expert counts, with the entropy of each row of {@code probs} [rows, experts] if given. */
    private RouterStats stats(RoutingContext ctx, int tokens, long[] routed, long[] dropped, Variable probs) {
        double entropy = 0;
        long measured = 0;
        if (probs != null) {
            Tensor p = probs.value();
            int experts = p.dim(1);
            double[] v = p.toDoubleArray();
            for (int t = 0; t < p.dim(0); t++) {
                double h = 0;
                for (int e = 0; e < experts; e++) {
                    double q = v[t * experts + e];
                    if (q > 0) h -= q * Math.log(q);
                }
                entropy += h;
            }
            measured = p.dim(0);
        }
        return new RouterStats(ctx.layer(), tokens, routed, dropped, entropy, measured, router.selectionBias());
    }

    public MoeConfig config() {
        return config;
    }

    public Router router() {
        return router;
    }

    public Experts experts() {
        return experts;
    }

    public Experts shared() {
        return shared;
    }
}
