package org.moe4j.moe;

import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.nn.Module;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Hash routing (Roller et al. 2021, "Hash Layers For Large Sparse Models"): no learned router; each token goes to
 * one expert fixed by a seeded hash of its token id ({@link TokenHash}), with gate 1.
 * An id always reaches the same expert whatever else is in the batch, and the router has no parameters.
 *
 * <p>Needs the token ids in {@link RoutingContext#tokenIds()}, one per routed token.
 */
public final class HashRouter extends Module implements Router {
    /** @param seed picks the hash; it is part of the trained model, like a weight */
    public record Config(int experts, long seed) {
        public Config {
            ConfigChecks.atLeast("hash router", "experts", experts, 1);
        }

        public Config withSeed(long s) {
            return new Config(experts, s);
        }
    }

    public static final RouterInfo INFO = new RouterInfo("hash",
            "Roller et al. 2021, Hash Layers For Large Sparse Models",
            "Each token goes to one expert chosen by a fixed, seeded hash of its token id, with gate 1; nothing is "
                    + "learned and a token's expert never depends on the batch.",
            (c, rng) -> new HashRouter(new Config(c.experts(), rng.nextLong())));

    private final Config config;
    private final TokenHash hash;

    public HashRouter(Config config) {
        this.config = config;
        this.hash = new TokenHash(config.seed(), config.experts());
    }

    @Override
    public RouterOutput route(Variable x, RoutingContext ctx) {
        int tokens = x.dim(0);
        IntTensor ids = ctx.tokenIds();
        if (ids == null) {
            throw new Moe4jException("hash router of layer " + ctx.layer() + " routes by token id: pass the ids with "
                    + "RoutingContext.withTokenIds(ids)");
        }
        if (ids.numel() != tokens) {
            throw new Moe4jException("hash router of layer " + ctx.layer() + ": " + ids.numel() + " token ids for "
                    + tokens + " tokens; give one id per routed token");
        }
        int[] expert = new int[tokens]; // [tokens, 1]
        for (int t = 0; t < tokens; t++) {
            int id = ids.data()[t];
            if (id < 0) throw new Moe4jException("hash router of layer " + ctx.layer() + ": token " + t + " has id " + id);
            expert[t] = hash.expertOf(id);
        }
        Variable ones = Variable.constant(Tensor.full(x.value().dtype(), 1, tokens, 1));
        Assignments a = RouterSupport.fromChoices(new IntTensor(expert, new int[] {tokens, 1}), ones, config.experts());
        return new RouterOutput.Sparse(a, null, null, null);
    }

    @Override
    public int experts() {
        return config.experts();
    }

    public Config config() {
        return config;
    }

    /** The id-to-expert map this router applies. */
    public TokenHash hash() {
        return hash;
    }
}
