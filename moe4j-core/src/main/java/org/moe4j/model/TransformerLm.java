package org.moe4j.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Shaping;
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
     * token's logits do not depend on other sequences. Float32 models only.
     */
    public LmOutput forwardIncremental(IntTensor ids, KvCache cache) {
        if (ids.rank() == 2 && ids.dim(0) != 1 || ids.rank() > 2 || ids.rank() == 0) {
            throw ShapeException.of(OP, "incremental decoding takes the new token ids of one sequence, [T] or [1, T]",
                    ids.shape());
        }
        int t = ids.numel();
        if (t < 1) throw ShapeException.of(OP, "needs at least one new token", ids.shape());
        if (!cache.fits(config)) {
            throw new Moe4jException(OP + ": the kv cache (" + cache.layers() + " layers, " + cache.kvHeads()
                    + " kv heads of " + cache.headDim() + ", up to " + cache.maxLength() + " positions) does not fit this"
                    + " model (" + config.layers() + " layers, " + config.kvHeads() + " kv heads of " + config.headDim()
                    + ", maxSeqLen " + config.maxSeqLen() + "); make it with newCache()");
        }
        if (embedding.weight().dtype() != DType.F32) {
            throw new Moe4jException(OP + ": incremental decoding needs float32 weights, this model has "
                    + embedding.weight().dtype());
        }
        IntTensor flat = ids.reshape(t);
        checkIds(flat);
        cache.reserve(t);
        try (GradMode off = GradMode.off()) {
            RoutingContext base = RoutingContext.inference(OP).withTokenIds(flat);
            Variable x = embedding.forward(flat); // [T, dModel]
            Variable aux = null;
            List<RouterStats> stats = new ArrayList<>();
            for (int i = 0; i < blocks.size(); i++) {
                TransformerBlock.Output out = blocks.get(i).forwardCached(x, rope, cache, i, base.withLayer(layerName(i)));
                x = out.x();
                aux = addLoss(aux, out.auxLoss());
                if (out.stats() != null) stats.add(out.stats());
            }
            cache.advance(t);
            return new LmOutput(Shaping.unsqueeze(logits(x), 0), aux, stats);
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
        int[] data = ids.data();
        int seq = ids.dim(-1);
        for (int p = 0; p < data.length; p++) {
            if (data[p] < 0 || data[p] >= config.vocab()) {
                String where = ids.rank() == 2 ? "[" + p / seq + ", " + p % seq + "]" : "[" + p + "]";
                throw new Moe4jException(OP + ": token id " + data[p] + " at " + where + " is outside the vocabulary of "
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
