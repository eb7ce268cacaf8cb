package org.moe4j.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.autograd.Arith;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.LinearAlgebra;
import org.moe4j.autograd.Losses;
import org.moe4j.autograd.Shaping;
import org.moe4j.autograd.Variable;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.model.TransformerBlock;
import org.moe4j.model.TransformerLm;
import org.moe4j.moe.Assignments;
import org.moe4j.moe.MoeOutput;
import org.moe4j.moe.RouterOutput;
import org.moe4j.moe.RouterStats;
import org.moe4j.moe.RoutingContext;
import org.moe4j.tensor.IntTensor;
import org.moe4j.train.data.TextData;
import org.moe4j.train.report.ExpertTokens;

/**
 * Held-out evaluation of a language model: the held-out tokens cut into consecutive windows of seq + 1 tokens
 * (overlapping by one, so every token after the first is a target once), at most {@code maxTokens} targets, in
 * batches. Bits per byte = summed next-token cross-entropy (nats) / ln 2 / the UTF-8 bytes the target tokens decode
 * to; perplexity = exp(mean nats per token). Optionally counts, per MoE layer, which input tokens each expert gets.
 */
public final class LmEvaluator {
    private static final double LN2 = Math.log(2);
    /** Tokens listed per expert in the report. */
    public static final int TOP_TOKENS = 8;

    private LmEvaluator() {}

    /**
     * What an evaluation found.
     *
     * @param loss         mean cross-entropy per target token (nats)
     * @param bitsPerByte  summed nats / ln 2 / target bytes
     * @param perplexity   exp(loss)
     * @param tokens       target tokens evaluated
     * @param bytes        UTF-8 bytes of those targets
     * @param layers       router telemetry summed over the evaluation, per MoE layer
     * @param expertTokens per MoE layer with token-choice routing, each expert's preferred tokens (empty unless asked)
     */
    public record Result(double loss, double bitsPerByte, double perplexity, long tokens, long bytes,
            List<RouterStats> layers, List<ExpertTokens> expertTokens) {}

    /** Evaluates {@code model} on the held-out part of {@code data}; {@code expertTokens} also tallies expert preferences. */
    public static Result evaluate(TransformerLm model, TextData data, int seq, int batch, long maxTokens, boolean expertTokens) {
        int[] ids = data.heldOut();
        long windows = Math.min((ids.length - 1L) / seq, Math.max(1, maxTokens / seq));
        if (ids.length < seq + 1) {
            throw new org.moe4j.common.Moe4jException("evaluation: the held-out text has " + ids.length + " tokens, fewer"
                    + " than one window of " + (seq + 1) + "; use more text or a shorter --seq-len");
        }
        int vocab = model.config().vocab();
        double nats = 0;
        long tokens = 0, bytes = 0;
        Map<String, RouterStats> totals = new LinkedHashMap<>();
        Map<String, long[][]> tallies = new LinkedHashMap<>(); // layer -> [experts][vocab]
        long[] tokenCounts = new long[vocab];
        try (GradMode off = GradMode.off()) {
            for (long w0 = 0; w0 < windows; w0 += batch) {
                int b = (int) Math.min(batch, windows - w0);
                int[] x = new int[b * seq], y = new int[b * seq];
                for (int r = 0; r < b; r++) {
                    int start = Math.toIntExact((w0 + r) * seq);
                    System.arraycopy(ids, start, x, r * seq, seq);
                    System.arraycopy(ids, start + 1, y, r * seq, seq);
                }
                IntTensor inputs = new IntTensor(x, new int[] {b, seq}), targets = new IntTensor(y, new int[] {b, seq});
                RoutingContext ctx = RoutingContext.inference("model");
                Variable logits;
                List<RouterStats> stats;
                if (expertTokens) {
                    Routed r = forwardRouted(model, inputs, ctx, tallies);
                    logits = r.logits;
                    stats = r.stats;
                    for (int t : x) tokenCounts[t]++;
                } else {
                    var out = model.forward(inputs, ctx);
                    logits = out.logits();
                    stats = out.routerStats();
                }
                nats += Losses.crossEntropy(logits, targets).value().item() * y.length;
                tokens += y.length;
                bytes += data.bytesOf(y, 0, y.length);
                for (RouterStats s : stats) totals.merge(s.layer(), s, RouterStats::merge);
            }
        }
        List<ExpertTokens> prefs = new ArrayList<>();
        tallies.forEach((layer, counts) -> prefs.add(preferences(layer, counts, tokenCounts, data.tokenizer())));
        double loss = nats / tokens;
        return new Result(loss, nats / LN2 / bytes, Math.exp(loss), tokens, bytes, new ArrayList<>(totals.values()), prefs);
    }

    /** Bits per byte of a batch: mean nats per token times tokens, over ln 2 and the targets' bytes. */
    static double bitsPerByte(double meanNats, long tokens, long bytes) {
        return meanNats * tokens / LN2 / bytes;
    }

    record Routed(Variable logits, List<RouterStats> stats) {}

    /**
     * The model's forward pass (as {@link TransformerLm#forward}) written out block by block, so that each MoE
     * layer's token-choice assignments can be read from its router: at inference routing is deterministic, so asking
     * the router again gives the assignments the layer used. A test holds the logits equal to the model's own.
     */
    static Routed forwardRouted(TransformerLm model, IntTensor ids, RoutingContext ctx, Map<String, long[][]> tallies) {
        int b = ids.dim(0), t = ids.dim(1), n = b * t;
        int[] starts = new int[b];
        for (int i = 0; i < b; i++) starts[i] = i * t;
        IntTensor flatIds = ids.reshape(n);
        RoutingContext base = ctx.withTokenIds(flatIds).withSequenceStarts(starts);
        int[] tok = flatIds.data();
        Variable x = model.embedding().forward(ids);
        List<RouterStats> stats = new ArrayList<>();
        List<TransformerBlock> blocks = model.blocks();
        int vocab = model.config().vocab();
        for (int i = 0; i < blocks.size(); i++) {
            TransformerBlock block = blocks.get(i);
            Variable h = Arith.add(x, block.attention().forward(block.attentionNorm().forward(x), model.rope()));
            Variable u = block.ffnNorm().forward(h);
            if (block.moe() == null) {
                x = Arith.add(h, block.dense().forward(u));
                continue;
            }
            String layer = "layers." + i + ".mlp";
            RoutingContext lc = base.withLayer(layer);
            int dim = model.config().dModel();
            if (block.moe().router().route(Shaping.reshape(u, n, dim), lc) instanceof RouterOutput.Sparse s) {
                Assignments a = s.assignments();
                long[][] counts = tallies.computeIfAbsent(layer, k -> new long[a.experts()][vocab]);
                for (int j = 0; j < a.size(); j++) counts[a.expert()[j]][tok[a.token()[j]]]++;
            }
            MoeOutput m = block.moe().forward(u, lc);
            x = Arith.add(h, m.output());
            if (m.stats() != null) stats.add(m.stats());
        }
        Variable hn = model.norm().forward(x);
        Variable logits = model.head() != null ? model.head().forward(hn) : LinearAlgebra.linear(hn, model.embedding().weight(), null);
        return new Routed(logits, stats);
    }

    private static ExpertTokens preferences(String layer, long[][] counts, long[] tokenCounts, Tokenizer tokenizer) {
        long all = 0, tokensSeen = 0;
        for (long[] row : counts) for (long c : row) all += c;
        for (long c : tokenCounts) tokensSeen += c;
        List<ExpertTokens.Expert> experts = new ArrayList<>();
        for (long[] row : counts) {
            long total = 0;
            for (long c : row) total += c;
            Integer[] order = new Integer[row.length];
            for (int id = 0; id < order.length; id++) order[id] = id;
            java.util.Arrays.sort(order, (p, q) -> row[p] != row[q] ? Long.compare(row[q], row[p]) : Integer.compare(p, q));
            List<ExpertTokens.TokenShare> top = new ArrayList<>();
            for (int r = 0; r < Math.min(TOP_TOKENS, order.length) && row[order[r]] > 0; r++) {
                int id = order[r];
                double share = (double) row[id] / total;
                double base = tokensSeen == 0 ? Double.NaN : (double) tokenCounts[id] / tokensSeen;
                top.add(new ExpertTokens.TokenShare(visible(tokenizer, id), row[id], share, share / base));
            }
            experts.add(new ExpertTokens.Expert(total, all == 0 ? 0 : (double) total / all, top));
        }
        return new ExpertTokens(layer, experts);
    }

    /** A token as readable text: whitespace shown as symbols, a lone piece of a UTF-8 character as its hex bytes. */
    static String visible(Tokenizer tokenizer, int id) {
        if (tokenizer.isSpecial(id)) return tokenizer.tokenString(id);
        byte[] b = tokenizer.tokenBytes(id);
        String s = new String(b, java.nio.charset.StandardCharsets.UTF_8);
        if (s.indexOf('\uFFFD') >= 0) {
            StringBuilder hex = new StringBuilder();
            for (byte v : b) hex.append(String.format("<%02X>", v & 0xFF));
            return hex.toString();
        }
        return s.replace(" ", "\u2423").replace("\n", "\u21b5").replace("\t", "\u21e5").replace("\r", "\\r");
    }
}
