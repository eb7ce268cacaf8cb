package org.moe4j.train;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.moe4j.autograd.Variable;
import org.moe4j.io.tokenizer.BpeTokenizer;
import org.moe4j.io.tokenizer.TokenizerJson;
import org.moe4j.model.LmOutput;
import org.moe4j.model.TransformerBlock;
import org.moe4j.model.TransformerLm;
import org.moe4j.moe.Router;
import org.moe4j.moe.RoutingContext;
import org.moe4j.nn.Module;
import org.moe4j.train.data.TextData;
import org.moe4j.train.data.TextWindows;

/**
 * Language modelling as a {@link TrainingTask}: random windows of the training text ({@link TextWindows}),
 * next-token cross-entropy, bits per byte per step, and the {@link LmEvaluator} on the held-out text. With a BPE
 * tokenizer every checkpoint carries its tokenizer.json.
 */
public final class LmTask implements TrainingTask {
    /** The tokenizer's file name inside a checkpoint directory. */
    public static final String TOKENIZER_FILE = "tokenizer.json";

    private final TransformerLm model;
    private final TextData data;
    private final LmRunConfig config;
    private final TextWindows windows;
    private final Map<String, Router> routers = new LinkedHashMap<>();
    private Map<String, byte[]> files;

    public LmTask(TransformerLm model, TextData data, LmRunConfig config) {
        this.model = model;
        this.data = data;
        this.config = config;
        this.windows = new TextWindows(data.train(), config.train().batchSize(), config.seqLen(), config.train().seed());
        if (data.heldOut().length < config.seqLen() + 1) { // found now, not after a whole training run
            throw new org.moe4j.common.Moe4jException(data.source() + ": the held-out last 5% of the text has "
                    + data.heldOut().length + " tokens, fewer than one evaluation window of " + (config.seqLen() + 1)
                    + "; use a longer text or a shorter --seq-len");
        }
        for (int i = 0; i < model.blocks().size(); i++) {
            TransformerBlock b = model.blocks().get(i);
            if (b.moe() != null) routers.put("layers." + i + ".mlp", b.moe().router());
        }
    }

    @Override
    public Module module() {
        return model;
    }

    @Override
    public Map<String, Router> routers() {
        return routers;
    }

    @Override
    public int batchesPerEpoch() {
        return windows.batchesPerEpoch();
    }

    @Override
    public int epoch() {
        return windows.epoch();
    }

    @Override
    public boolean hasNext() {
        return windows.hasNext();
    }

    @Override
    public void nextEpoch() {
        windows.nextEpoch();
    }

    @Override
    public long position() {
        return windows.cursor();
    }

    @Override
    public void restore(int epoch, long position) {
        windows.restore(epoch, position);
    }

    @Override
    public Step step(RoutingContext ctx) {
        TextWindows.LmBatch b = windows.next();
        LmOutput out = model.forward(b.inputs(), ctx);
        Variable ce = out.crossEntropy(b.targets());
        int[] y = b.targets().data();
        double bpb = LmEvaluator.bitsPerByte(ce.value().item(), y.length, data.bytesOf(y, 0, y.length));
        return new Step(ce, out.auxLoss(), out.routerStats(), Double.NaN, bpb, y.length);
    }

    @Override
    public Evaluation evaluate() {
        LmEvaluator.Result r = evaluate(false);
        return new Evaluation(r.loss(), Double.NaN, r.bitsPerByte());
    }

    /** The held-out evaluation of the run's settings; {@code expertTokens} also tallies each expert's tokens. */
    public LmEvaluator.Result evaluate(boolean expertTokens) {
        return LmEvaluator.evaluate(model, data, config.seqLen(), config.train().batchSize(), config.evalTokens(), expertTokens);
    }

    @Override
    public String evalSplit() {
        return "held-out";
    }

    @Override
    public String unit() {
        return "tokens";
    }

    @Override
    public long itemsPerStep() {
        return (long) config.train().batchSize() * config.seqLen();
    }

    @Override
    public long evalEvery() {
        return config.evalEvery();
    }

    @Override
    public String fingerprint() {
        return data.fingerprint();
    }

    @Override
    public Map<String, byte[]> checkpointFiles() {
        if (files == null) {
            files = data.tokenizer() instanceof BpeTokenizer bpe
                    ? Map.of(TOKENIZER_FILE, TokenizerJson.toJson(bpe).getBytes(StandardCharsets.UTF_8)) : Map.of();
        }
        return files;
    }

    public TransformerLm model() {
        return model;
    }

    public TextData data() {
        return data;
    }

    public LmRunConfig config() {
        return config;
    }
}
