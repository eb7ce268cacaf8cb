package org.moe4j.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Indexing;
import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.kernel.RopeKernels;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Embedding;
import org.moe4j.nn.Linear;
import org.moe4j.nn.Module;
import org.moe4j.nn.RmsNorm;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;

/**
 * A decoder-only transformer language model with Mixture-of-Experts feed-forward layers, as Mixtral, Qwen-MoE,
 * OLMoE and DeepSeekMoE: token embedding, {@link TransformerBlock}s (RMSNorm, rotary grouped-query attention,
 * RMSNorm, MoE or dense SwiGLU FFN, each with a residual), a final RMSNorm and the output head (tied to the
 * embedding or its own).
 *
 * <p>The model holds parameters and configuration only. Training and batch inference use {@link #forward};
 * generation keeps one {@link KvCache} per sequence and calls {@link #forwardIncremental}, so many threads may
 * share one model.
 */
public final class TransformerLm extends Module {
    private static final String OP = "transformer lm";

    private final TransformerConfig config;
    private final RopeKernels.Tables rope; // cos/sin of every position up to maxSeqLen, immutable
    private final Embedding embedding;
    private final List<TransformerBlock> blocks;
    private final RmsNorm norm;
    private final Linear head; // [vocab, dModel], or null when tied to the embedding

    /** The blocks as one child, so their parameters are named {@code layers.<i>.…}. */
    private static final class Layers extends Module {
        private final List<TransformerBlock> blocks = new ArrayList<>();

        Layers(TransformerConfig c, Rng rng) {
            for (int i = 0; i < c.layers(); i++) blocks.add(child(Integer.toString(i), new TransformerBlock(c, i, rng)));
        }
    }

    /** A freshly initialised model; every weight is drawn from {@code rng}. */
    public TransformerLm(TransformerConfig config, Rng rng) {
        this.config = config;
        this.rope = RopeKernels.Tables.of(config.headDim(), config.ropeTheta(), config.maxSeqLen());
        this.embedding = child("embedding", new Embedding(config.vocab(), config.dModel(), config.initStd(), rng));
        this.blocks = Collections.unmodifiableList(child("layers", new Layers(config, rng)).blocks);
        this.norm = child("norm", new RmsNorm(config.dModel(), config.rmsEps()));
        this.head = config.tiedEmbeddings() ? null : child("head", new Linear(config.dModel(), config.vocab(), false, rng));
    }

    /**
     * Logits for every position of {@code ids} [batch, seq], each sequence starting at position 0 and attending
     * causally within itself. {@code ctx} says whether this is training and supplies randomness and load
     * tracking; the model names each MoE layer ({@code layers.<i>.mlp}) and passes on the token ids and the row
     * where each sequence starts, unless the context already holds them.
     */
    public LmOutput forward(IntTensor ids, RoutingContext ctx) {
        if (ids.rank() != 2) throw ShapeException.of(OP, "expects token ids [batch, seq]", ids.shape());
        int b = ids.dim(0), t = ids.dim(1);
        if (b < 1 || t < 1) throw ShapeException.of(OP, "needs at least one sequence of at least one token", ids.shape());
        checkLength(t, 0);
        checkIds(ids);
        RoutingContext base = ctx.tokenIds() == null ? ctx.withTokenIds(ids.reshape(b * t)) : ctx;
        if (base.sequenceStarts() == null) {
            int[] starts = new int[b];
            for (int i = 0; i < b; i++) starts[i] = i * t;
            base = base.withSequenceStarts(starts);
        }
        Variable x = embedding.forward(ids); // [B, T, dModel]
        Variable aux = null;
        List<RouterStats> stats = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            TransformerBlock.Output out = blocks.get(i).forward(x, rope, base.withLayer(layerName(i)));
            x = out.x();
            aux = addLoss(aux, out.auxLoss());
            if (out.stats() != null) stats.add(out.stats());
        }
        return new LmOutput(logits(x), aux, stats);
    }

    /**
     * Logits [1, T, vocab] for the next T tokens of the sequence in {@code cache} (ids [T] or [1, T]): the prompt
     * at once (prefill), then one token at a time (decode). Their keys and values join the cache, and positions
     * continue from {@code cache.length()}. Always inference: no graph is recorded, routing is dropless, and a
     * token's logits do not depend on other sequences. Float32 models only. The one-sequence case of
     * {@link #forwardIncremental(List, List, boolean)}.
     */
    public LmOutput forwardIncremental(IntTensor ids, KvCache cache) {
        if (ids.rank() == 2 && ids.dim(0) != 1 || ids.rank() > 2 || ids.rank() == 0) {
            throw ShapeException.of(OP, "incremental decoding takes the new token ids of one sequence, [T] or [1, T]",
                    ids.shape());
        }
        IncrementalOutput out = forwardIncremental(List.of(ids.reshape(ids.numel())), List.of(cache), false);
        return new LmOutput(Variable.constant(out.logits().unsqueeze(0)), out.auxLoss(), out.routerStats());
    }

    /**
     * Advances several sequences at once: {@code ids.get(s)} [T_s] are the next tokens of the sequence in
     * {@code caches.get(s)} — a whole prompt (prefill), a chunk of one, or one decoded token, mixed freely. The MoE
     * layers see all the tokens together (one grouped expert pass), attention stays within each sequence. Routing
     * at inference is dropless with ties broken by expert index, and every other step works row by row, so a
     * sequence's logits are bit-identical alone or batched with any others in any order. With {@code lastOnly},
     * only the logits after each sequence's last new token are computed (what sampling needs; the same bits).
     * Everything is checked before any cache changes; each cache then advances by its T_s.
     */
    public IncrementalOutput forwardIncremental(List<IntTensor> ids, List<KvCache> caches, boolean lastOnly) {
        int n = ids.size();
        if (n < 1 || caches.size() != n) {
            throw new Moe4jException(OP + ": incremental decoding needs one kv cache per sequence and at least one"
                    + " sequence, got " + n + " token lists and " + caches.size() + " caches");
        }
        if (embedding.weight().dtype() != DType.F32) {
            throw new Moe4jException(OP + ": incremental decoding needs float32 weights, this model has "
                    + embedding.weight().dtype());
        }
        int[] rowStarts = new int[n + 1];
        Set<KvCache> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int s = 0; s < n; s++) {
            String who = n == 1 ? OP : OP + " (sequence " + s + ")";
            IntTensor seq = ids.get(s);
            KvCache cache = caches.get(s);
            if (seq.rank() != 1 || seq.numel() < 1) {
                throw ShapeException.of(who, "incremental decoding takes at least one new token id per sequence, [T]",
                        seq.shape());
            }
            if (!seen.add(cache)) {
                throw new Moe4jException(who + ": the kv cache is given for two sequences; each sequence needs its own");
            }
            checkFits(who, cache);
            checkIds(who, seq);
            try {
                cache.checkRoom(seq.numel());
            } catch (Moe4jException e) {
                if (n == 1) throw e;
                throw new Moe4jException(who + ": " + e.getMessage(), e);
            }
            rowStarts[s + 1] = Math.addExact(rowStarts[s], seq.numel());
        }
        int rows = rowStarts[n];
        int[] all = new int[rows];
        for (int s = 0; s < n; s++) System.arraycopy(ids.get(s).data(), 0, all, rowStarts[s], ids.get(s).numel());
        for (int s = 0; s < n; s++) caches.get(s).reserve(rowStarts[s + 1] - rowStarts[s]);
        IntTensor flat = new IntTensor(all, new int[] {rows});
        try (GradMode off = GradMode.off()) {
            RoutingContext base = RoutingContext.inference(OP).withTokenIds(flat)
                    .withSequenceStarts(Arrays.copyOf(rowStarts, n));
            Variable x = embedding.forward(flat); // [N, dModel]
            Variable aux = null;
            List<RouterStats> stats = new ArrayList<>();
            for (int i = 0; i < blocks.size(); i++) {
                TransformerBlock.Output out = blocks.get(i).forwardCached(x, rope, caches, rowStarts, i,
                        base.withLayer(layerName(i)));
                x = out.x();
                aux = addLoss(aux, out.auxLoss());
                if (out.stats() != null) stats.add(out.stats());
            }
            for (int s = 0; s < n; s++) caches.get(s).advance(rowStarts[s + 1] - rowStarts[s]);
            if (!lastOnly) return new IncrementalOutput(logits(x).value(), rowStarts, aux, stats);
            int[] last = new int[n];
            int[] lastStarts = new int[n + 1];
            for (int s = 0; s < n; s++) {
                last[s] = rowStarts[s + 1] - 1;
                lastStarts[s + 1] = s + 1;
            }
            Variable lastRows = Indexing.indexSelect(x, 0, new IntTensor(last, new int[] {n})); // [n, dModel]
            return new IncrementalOutput(logits(lastRows).value(), lastStarts, aux, stats);
        }
    }

    private void checkFits(String who, KvCache cache) {
        if (!cache.fits(config)) {
            throw new Moe4jException(who + ": the kv cache (" + cache.layers() + " layers, " + cache.kvHeads()
                    + " kv heads of " + cache.headDim() + ", up to " + cache.maxLength() + " positions) does not fit this"
                    + " model (" + config.layers() + " layers, " + config.kvHeads() + " kv heads of " + config.headDim()
                    + ", maxSeqLen " + config.maxSeqLen() + "); make it with newCache()");
        }
    }

    /** An empty cache for one sequence of this model. */
    public KvCache newCache() {
        return new KvCache(config);
    }

    private Variable logits(Variable x) {
        Variable h = norm.forward(x);
        return head != null ? head.forward(h) : LinearAlgebra.linear(h, embedding.weight(), null);
    }

    private static Variable addLoss(Variable total, Variable loss) {
        if (loss == null) return total;
        return total == null ? loss : Arith.add(total, loss);
    }

    private static String layerName(int i) {
        return "layers." + i + ".mlp";
    }

    private void checkLength(int tokens, int cached) {
        if ((long) tokens + cached > config.maxSeqLen()) {
            throw new Moe4jException(OP + ": a sequence of " + tokens + " tokens exceeds maxSeqLen " + config.maxSeqLen()
                    + "; split it or use a model configured with a longer maxSeqLen");
        }
    }

    private void checkIds(IntTensor ids) {
        checkIds(OP, ids);
    }

    private void checkIds(String who, IntTensor ids) {
        int[] data = ids.data();
        int seq = ids.dim(-1);
        for (int p = 0; p < data.length; p++) {
            if (data[p] < 0 || data[p] >= config.vocab()) {
                String where = ids.rank() == 2 ? "[" + p / seq + ", " + p % seq + "]" : "[" + p + "]";
                throw new Moe4jException(who + ": token id " + data[p] + " at " + where + " is outside the vocabulary of "
                        + config.vocab() + " (valid ids 0.." + (config.vocab() - 1) + ")");
            }
        }
    }

    public TransformerConfig config() {
        return config;
    }

    public List<TransformerBlock> blocks() {
        return blocks;
    }

    public Embedding embedding() {
        return embedding;
    }

    public RmsNorm norm() {
        return norm;
    }

    /** The output head, or null when it is tied to the embedding. */
    public Linear head() {
        return head;
    }

    /** The rotary tables shared by every layer. */
    public RopeKernels.Tables rope() {
        return rope;
    }

    /**
     * Parameters one token passes through: all of them less the routed experts it does not visit (experts - topK
     * in each MoE layer). Embedding and head count in full, as the usual "active parameters" figure does.
     */
    public long activeParameterCount() {
        long inactive = 0;
        for (TransformerBlock block : blocks) {
            if (block.moe() == null) continue;
            long perExpert = block.moe().experts().flopsPerRow() / 2; // multiply-adds = weights of one expert
            inactive += (config.experts() - config.topK()) * perExpert;
        }
        return parameterCount() - inactive;
    }
}
