package org.moe4j.model;

import java.util.List;
import org.moe4j.autograd.Attention;
import org.moe4j.autograd.Heads;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.kernel.CachedAttention;
import org.moe4j.kernel.RopeKernels;
import org.moe4j.nn.Linear;
import org.moe4j.nn.Module;
import org.moe4j.nn.RmsNorm;
import org.moe4j.tensor.Tensor;

/**
 * Causal self-attention with rotary position embeddings and grouped key/value heads: H query heads share
 * KVH key/value heads, query head h reading key/value head {@code h / (H / KVH)}. Queries and keys may be
 * RMS-normalised before the rotation ({@link QkNorm}). Projections use PyTorch's Linear layout.
 */
public final class GroupedQueryAttention extends Module {
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final QkNorm qkNorm;
    private final Linear q; // [heads * headDim, dModel]
    private final Linear k; // [kvHeads * headDim, dModel]
    private final Linear v; // [kvHeads * headDim, dModel]
    private final Linear o; // [dModel, heads * headDim]
    private final RmsNorm qNorm; // [headDim] or [heads * headDim] (see QkNorm), or null
    private final RmsNorm kNorm; // [headDim] or [kvHeads * headDim], or null

    public GroupedQueryAttention(TransformerConfig c, Rng rng) {
        this.heads = c.heads();
        this.kvHeads = c.kvHeads();
        this.headDim = c.headDim();
        this.qkNorm = c.qkNorm();
        this.q = child("q", new Linear(c.dModel(), c.queryWidth(), c.attentionBias(), rng));
        this.k = child("k", new Linear(c.dModel(), c.kvWidth(), c.attentionBias(), rng));
        this.v = child("v", new Linear(c.dModel(), c.kvWidth(), c.attentionBias(), rng));
        this.o = child("o", new Linear(c.queryWidth(), c.dModel(), false, rng));
        this.qNorm = switch (qkNorm) {
            case NONE -> null;
            case PER_HEAD -> child("qNorm", new RmsNorm(headDim, c.rmsEps()));
            case FULL_WIDTH -> child("qNorm", new RmsNorm(c.queryWidth(), c.rmsEps()));
        };
        this.kNorm = switch (qkNorm) {
            case NONE -> null;
            case PER_HEAD -> child("kNorm", new RmsNorm(headDim, c.rmsEps()));
            case FULL_WIDTH -> child("kNorm", new RmsNorm(c.kvWidth(), c.rmsEps()));
        };
    }

    /** x [B, T, dModel] to [B, T, dModel], every sequence starting at position 0. */
    public Variable forward(Variable x, RopeKernels.Tables rope) {
        int rep = heads / kvHeads;
        Variable qh = Heads.split(project(q, qNorm, x, heads), rope, 0, 1); // [B, H, T, hd]
        Variable kh = Heads.split(project(k, kNorm, x, kvHeads), rope, 0, rep); // [B, H, T, hd], heads repeated
        Variable vh = Heads.split(project(v, null, x, kvHeads), null, 0, rep);
        Variable att = Attention.scaledDotProductAttention(qh, kh, vh, null, true); // [B, H, T, hd]
        return o.forward(Heads.merge(att));
    }

    /** T new positions of one sequence, x [T, dModel]: the one-sequence case of the method below. */
    Variable forwardCached(Variable x, RopeKernels.Tables rope, KvCache cache, int layer) {
        return forwardCached(x, rope, List.of(cache), new int[] {0, x.dim(0)}, layer);
    }

    /**
     * The new positions of several sequences, x [N, dModel]: rows {@code rowStarts[s] .. rowStarts[s + 1]} are
     * the next positions of the sequence in {@code caches.get(s)}. The projections run over all rows at once;
     * the rotation and the attention over the cached positions run per sequence. Each sequence's keys and values
     * are written to its cache's rows {@code cache.length() ..}; the caller advances the caches once every layer
     * has written. Inference only (call with gradients off).
     */
    Variable forwardCached(Variable x, RopeKernels.Tables rope, List<KvCache> caches, int[] rowStarts, int layer) {
        int n = x.dim(0), width = heads * headDim;
        Tensor qAll = project(q, qNorm, x, heads).value(); // [N, H, hd]
        Tensor kAll = project(k, kNorm, x, kvHeads).value(); // [N, KVH, hd]
        Tensor vAll = project(v, null, x, kvHeads).value().contiguous();
        Tensor out = Tensor.zeros(n, width);
        for (int s = 0; s < caches.size(); s++) {
            KvCache cache = caches.get(s);
            int from = rowStarts[s], t = rowStarts[s + 1] - from, start = cache.length();
            Tensor qt = rotated(qAll.narrow(0, from, t), rope, start); // [T, H, hd]
            Tensor kt = rotated(kAll.narrow(0, from, t), rope, start); // [T, KVH, hd]
            Tensor vt = vAll.narrow(0, from, t);
            cache.write(layer, kt.floats(), kt.offset(), vt.floats(), vt.offset(), t);
            float[] qa = qt.offset() == 0 ? qt.floats() : qt.toFloatArray();
            float[] o = t == n ? out.floats() : new float[t * width];
            CachedAttention.forward(qa, t, heads, headDim, cache.keys(layer), cache.values(layer), start + t, kvHeads,
                    (float) (1 / Math.sqrt(headDim)), o);
            if (o != out.floats()) System.arraycopy(o, 0, out.floats(), from * width, t * width);
        }
        return o.forward(Variable.constant(out));
    }

    /** The projection of x [..., dModel] split into heads [..., n, hd] and normalised as configured. */
    private Variable project(Linear proj, RmsNorm norm, Variable x, int n) {
        Variable y = proj.forward(x);
        if (norm != null && qkNorm == QkNorm.FULL_WIDTH) y = norm.forward(y);
        int[] shape = y.shape();
        int[] split = new int[shape.length + 1];
        System.arraycopy(shape, 0, split, 0, shape.length - 1);
        split[shape.length - 1] = n;
        split[shape.length] = headDim;
        y = Shaping.reshape(y, split);
        return norm != null && qkNorm == QkNorm.PER_HEAD ? norm.forward(y) : y;
    }

    /** Heads [T, n, hd] rotated to positions start .. start + T - 1, as a contiguous tensor. */
    private static Tensor rotated(Tensor heads, RopeKernels.Tables rope, int start) {
        return RopeKernels.rotate(heads, rope, start, false).contiguous();
    }

    public Linear q() {
        return q;
    }

    public Linear k() {
        return k;
    }

    public Linear v() {
        return v;
    }

    public Linear o() {
        return o;
    }

    /** The query norm, or null without qk-norm. */
    public RmsNorm qNorm() {
        return qNorm;
    }

    public RmsNorm kNorm() {
        return kNorm;
    }
}
