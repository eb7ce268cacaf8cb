package org.moe4j.io.gguf;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.moe4j.nn.Init;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.io.tokenizer.Tokenizer;
import org.moe4j.kernel.PackedWeight;
import org.moe4j.model.TransformerConfig;
import org.moe4j.model.TransformerLm;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.QuantFormat;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Tensor;

/**
 * A {@link TransformerLm} as a GGUF file with llama.cpp's metadata keys and tensor names for the MoE architectures
 * ({@link GgufArchitecture}), so that llama.cpp runs a file moe4j wrote and moe4j runs one llama.cpp's converter
 * wrote (tested on files from its convert_hf_to_gguf.py, including {@code --fuse-qkv}'s fused {@code attn_qkv}).
 * Every tensor the metadata implies must be there with its exact shape (outer axes of size 1 aside, as llama.cpp
 * compares them) and every tensor of the file used;
 * metadata that changes the computation in a way moe4j does not implement (rope scaling, sliding windows, logit
 * soft-capping, another gating function) is a {@link GgufFormatException} naming the key.
 */
public final class GgufModel {
    /**
     * A model read from a GGUF file, with its tokenizer (a {@link org.moe4j.io.tokenizer.BpeTokenizer} for "gpt2"
     * vocabularies, an {@link org.moe4j.io.tokenizer.SpmTokenizer} for "llama" ones) or the reason there is none;
     * {@code decodedNote} names the tensors of types moe4j decodes to float32 at load rather than computing with
     * them in place (Q4_1, Q5_0, Q5_1, Q2_K), e.g. "decoded to float32 at load: 2 Q2_K tensors", or is
     * empty.
     */
    public record Loaded(TransformerLm model, GgufArchitecture architecture, Optional<Tokenizer> tokenizer,
            String tokenizerNote, String decodedNote) {}

    /** Reports conversion progress: {@code done} of {@code total} tensors, the last one named. */
    @FunctionalInterface
    public interface Progress {
        Progress NONE = (done, total, name) -> {};

        void tensor(int done, int total, String name);
    }

    private GgufModel() {}

    /** Loads the model and its tokenizer from {@code file}; the weights are copied to the heap as float32. */
    public static Loaded load(Path file) {
        try (GgufFile f = GgufFile.open(file)) {
            return load(f);
        }
    }

    /**
     * Loads the model for inference: matrices stored quantized (Q8_0, Q4_0, Q3_K to Q6_K, F16, BF16) stay so on the
     * heap, in the attention projections, experts, dense FFNs and output head; the embedding, norms, routers and
     * biases are float32, and so are matrices in the types moe4j only decodes (Q4_1, Q5_0, Q5_1, Q2_K;
     * see {@link Loaded#decodedNote()}). The model generates (under {@link org.moe4j.autograd.GradMode#off()}) but cannot be trained.
     */
    public static Loaded loadForInference(Path file) {
        try (GgufFile f = GgufFile.open(file)) {
            return load(f, true);
        }
    }

    /** Loads the model (float32 weights on the heap) and tokenizer from an open file. */
    public static Loaded load(GgufFile f) {
        return load(f, false);
    }

    /** Loads the model and tokenizer from an open file; {@code keepQuantized} as in {@link #loadForInference}. */
    public static Loaded load(GgufFile f, boolean keepQuantized) {
        GgufArchitecture arch = architecture(f);
        TransformerConfig config = config(f);
        TransformerLm model;
        try (var deferred = Init.deferred()) { // the file gives every weight: no random draws, no memory until then
            model = new TransformerLm(config, new Rng(0));
        }
        readWeights(f, model, arch, keepQuantized);
        GgufTokenizer.Result tok = GgufTokenizer.read(f);
        if (tok.tokenizer().isPresent() && tok.tokenizer().get().vocabSize() > config.vocab()) {
            tok = new GgufTokenizer.Result(Optional.empty(), "the tokenizer has " + tok.tokenizer().get().vocabSize()
                    + " ids, more than the model's " + config.vocab());
        }
        return new Loaded(model, arch, tok.tokenizer(), tok.note(), decodedNote(f));
    }

    /** Which tensors are held as float32 only because their type is one moe4j decodes but does not compute with. */
    static String decodedNote(GgufFile f) {
        Map<GgmlType, Integer> counts = new java.util.TreeMap<>();
        for (GgufTensorInfo t : f.tensors()) {
            QuantFormat format = t.type().format();
            if (format != null && !PackedWeight.supports(format)) counts.merge(t.type(), 1, Integer::sum);
        }
        if (counts.isEmpty()) return "";
        List<String> parts = new ArrayList<>();
        counts.forEach((type, n) -> parts.add(n + " " + type));
        return "decoded to float32 at load: " + String.join(", ", parts) + " tensors";
    }

    /** The file's architecture; an unknown one is a {@link GgufFormatException} naming it. */
    public static GgufArchitecture architecture(GgufFile f) {
        String name = f.string(GgufKeys.ARCHITECTURE);
        GgufArchitecture arch = GgufArchitecture.byName(name);
        if (arch == null) {
            throw new GgufFormatException(f.source(), "metadata '" + GgufKeys.ARCHITECTURE + "'", "'" + name
                    + "' is not an architecture moe4j reads; it reads " + GgufArchitecture.known());
        }
        return arch;
    }

    /** The model configuration in the file's metadata (checked against the tensors when the weights are read). */
    public static TransformerConfig config(GgufFile f) {
        return new GgufKeys.Reader(f, architecture(f)).config();
    }

    // ---- reading weights ---------------------------------------------------------------------------------------

    /** Fills every parameter of {@code model} from {@code f}; missing, misshapen and unused tensors are errors. */
    public static void readWeights(GgufFile f, TransformerLm model, GgufArchitecture arch) {
        readWeights(f, model, arch, false);
    }

    /**
     * As {@link #readWeights(GgufFile, TransformerLm, GgufArchitecture)}; with {@code keepQuantized}, each matrix the
     * file holds in a format the kernels compute in place ({@link org.moe4j.kernel.PackedWeight#supports}) is handed
     * to its module ({@link org.moe4j.nn.Module#holdQuantized}), which repacks it into its own memory; its float
     * parameter stays a placeholder. Other formats are decoded to float32.
     */
    public static void readWeights(GgufFile f, TransformerLm model, GgufArchitecture arch, boolean keepQuantized) {
        Map<String, Variable> params = model.namedParameters();
        TransformerConfig c = model.config();
        Set<String> used = new HashSet<>();
        for (GgufTensorNames.Entry e : GgufTensorNames.of(model)) {
            Tensor p = params.get(e.parameter()).value();
            Part src = part(f, e, c, arch);
            if (src.fused()) {
                used.add(src.tensor());
            } else {
                int[] shape = e.kind() == GgufTensorNames.Kind.LEADING_ONE ? Arrays.copyOfRange(p.shape(), 1, p.rank())
                        : p.shape();
                checkShape(f, e.file(), shape, arch);
            }
            if (keepQuantized && holdQuantized(f, model, e, src, arch)) {
                used.add(e.file());
                continue;
            }
            Tensor t = f.tensor(src.tensor());
            if (src.fused()) t = t.narrow(0, (int) src.from(), (int) src.rows()).contiguous();
            if (arch.interleavedRope()) {
                if (e.kind() == GgufTensorNames.Kind.ROPE_Q) t = RopeOrder.fromInterleaved(t, c.heads(), c.headDim());
                if (e.kind() == GgufTensorNames.Kind.ROPE_K) t = RopeOrder.fromInterleaved(t, c.kvHeads(), c.headDim());
            }
            params.get(e.parameter()).materialize().copyFrom(t.reshape(p.shape()));
            used.add(e.file());
        }
        List<String> unused = new ArrayList<>();
        for (GgufTensorInfo t : f.tensors()) if (!used.contains(t.name())) unused.add(t.name());
        if (!unused.isEmpty()) {
            throw new GgufFormatException(f.source(), "tensor '" + unused.get(0) + "'", "is not a weight of this "
                    + arch.ggufName() + " model as its metadata describes it (" + unused.size() + " unused tensor(s): "
                    + String.join(", ", unused.subList(0, Math.min(5, unused.size()))) + (unused.size() > 5 ? ", ..." : "")
                    + "); check the metadata (block_count, expert_count, leading_dense_block_count ...) against the"
                    + " tensors");
        }
    }

    /**
     * Where an entry's values are: its own tensor, or rows {@code [from, from + rows)} of a fused one. llama.cpp's
     * converter fuses each layer's Q, K and V projections into {@code attn_qkv} (weights and biases, Q and K rows
     * already in the rotary order) with {@code --fuse-qkv}, and llama.cpp reads either form.
     */
    private record Part(String tensor, boolean fused, long from, long rows) {}

    private static Part part(GgufFile f, GgufTensorNames.Entry e, TransformerConfig c, GgufArchitecture arch) {
        String name = e.file();
        int dot = name.indexOf(".attn_");
        boolean qkv = dot > 0 && (name.endsWith(".attn_q.weight") || name.endsWith(".attn_k.weight")
                || name.endsWith(".attn_v.weight") || name.endsWith(".attn_q.bias") || name.endsWith(".attn_k.bias")
                || name.endsWith(".attn_v.bias"));
        if (!qkv || f.contains(name)) return new Part(name, false, 0, 0);
        boolean bias = name.endsWith(".bias");
        String fused = name.substring(0, dot) + ".attn_qkv." + (bias ? "bias" : "weight");
        if (!f.contains(fused)) return new Part(name, false, 0, 0); // the shape check reports the missing tensor
        long q = (long) c.heads() * c.headDim(), kv = (long) c.kvHeads() * c.headDim();
        int[] shape = bias ? new int[] {(int) (q + 2 * kv)} : new int[] {(int) (q + 2 * kv), c.dModel()};
        checkShape(f, fused, shape, arch);
        char which = name.charAt(dot + 6);
        long from = which == 'q' ? 0 : which == 'k' ? q : q + kv;
        return new Part(fused, true, from, which == 'q' ? q : kv);
    }

    /** Hands entry e's file tensor, still quantized, to its module when it is a quantized matrix; false otherwise. */
    private static boolean holdQuantized(GgufFile f, TransformerLm model, GgufTensorNames.Entry e, Part src,
            GgufArchitecture arch) {
        QuantFormat format = f.info(src.tensor()).type().format();
        if (e.keepF32() || format == null || format == QuantFormat.F32 || !PackedWeight.supports(format)
                || f.info(src.tensor()).shape().length < 2) {
            return false; // read as float32 by the caller
        }
        int dot = e.parameter().lastIndexOf('.');
        org.moe4j.nn.Module owner = dot < 0 ? null : model.module(e.parameter().substring(0, dot));
        if (!(owner instanceof org.moe4j.nn.Linear) && !(owner instanceof org.moe4j.moe.Experts)) return false;
        // The module repacks the rows into its own memory (kernel.PackedWeight), so the mapped file may close after.
        QuantizedTensor q = f.quantized(src.tensor());
        if (src.fused()) {
            q = new QuantizedTensor(q.format(), (int) src.rows(), q.cols(),
                    q.data().asSlice(src.from() * q.rowBytes(), src.rows() * q.rowBytes()));
        }
        TransformerConfig c = model.config();
        if (arch.interleavedRope()) {
            if (e.kind() == GgufTensorNames.Kind.ROPE_Q) q = RopeOrder.fromInterleaved(q, c.heads(), c.headDim());
            if (e.kind() == GgufTensorNames.Kind.ROPE_K) q = RopeOrder.fromInterleaved(q, c.kvHeads(), c.headDim());
        }
        owner.holdQuantized(e.parameter().substring(dot + 1), q);
        return true;
    }

    static void checkShape(GgufFile f, String name, int[] shape, GgufArchitecture arch) {
        if (!f.contains(name)) {
            throw new GgufFormatException(f.source(), "tensor '" + name + "'", "is missing; the " + arch.ggufName()
                    + " metadata describes a model that needs it " + Arrays.toString(shape));
        }
        long[] actual = f.info(name).shape();
        if (!sameIgnoringOuterOnes(actual, shape)) {
            throw new GgufFormatException(f.source(), "tensor '" + name + "' shape", Arrays.toString(actual)
                    + " but the metadata makes it " + Arrays.toString(shape) + " (outermost first)");
        }
    }

    /**
     * Whether the shapes agree once outer axes of size 1 are dropped, as llama.cpp's loader compares them (ggml pads
     * every tensor to 4 dims with 1s): the converter writes Qwen2-MoE's shared-expert gate as [1, dim], moe4j as [dim].
     */
    static boolean sameIgnoringOuterOnes(long[] actual, int[] expected) {
        int a = 0, e = 0;
        while (a < actual.length - 1 && actual[a] == 1 && actual.length - a > expected.length) a++;
        while (e < expected.length - 1 && expected[e] == 1 && expected.length - e > actual.length - a) e++;
        if (actual.length - a != expected.length - e) return false;
        for (int i = 0; i < expected.length - e; i++) if (actual[a + i] != expected[e + i]) return false;
        return true;
    }

    // ---- writing -----------------------------------------------------------------------------------------------

    /**
     * Writes {@code model} as {@code arch} to {@code file} (through a temporary file renamed into place), matrices in
     * {@code type} and norms, biases and routers in F32; a matrix whose rows do not fill whole blocks of a block
     * format is written as F16, as llama.cpp's converter does. The tokenizer may be null. Returns a note on what
     * was left out (empty when nothing was).
     */
    public static String save(TransformerLm model, GgufArchitecture arch, Tokenizer tokenizer, QuantFormat type,
            Path file, Progress progress) {
        GgufWriter w = new GgufWriter();
        String note = fill(w, model, arch, tokenizer, type, progress);
        w.write(file);
        return note;
    }

    /** Puts the model's metadata, tokenizer and tensors into {@code w}; see {@link #save}. */
    public static String fill(GgufWriter w, TransformerLm model, GgufArchitecture arch, Tokenizer tokenizer,
            QuantFormat type, Progress progress) {
        TransformerConfig c = model.config();
        if (!type.canQuantize()) {
            throw new org.moe4j.common.Moe4jException("gguf save: moe4j reads " + type + " but does not write it; write"
                    + " F32, F16, BF16, Q8_0 or Q4_0");
        }
        if (!model.namedQuantized().isEmpty()) {
            throw new org.moe4j.common.Moe4jException("gguf save: the model holds quantized inference weights ("
                    + model.namedQuantized().keySet().iterator().next() + ", ...); convert from the float32 model or"
                    + " the original file instead");
        }
        arch.checkExpressible(c);
        GgufKeys.write(w, c, arch, type);
        String note = GgufTokenizer.write(w, tokenizer, c.vocab());
        Map<String, Variable> params = model.namedParameters();
        List<GgufTensorNames.Entry> entries = new ArrayList<>(GgufTensorNames.of(model));
        boolean needsOutput = arch == GgufArchitecture.QWEN2MOE || arch == GgufArchitecture.OLMOE;
        if (model.head() == null && needsOutput) {
            // llama.cpp's qwen2moe and olmoe require output.weight: a tied model stores the embedding twice
            entries.add(new GgufTensorNames.Entry("embedding.weight", GgufTensorNames.OUTPUT,
                    GgufTensorNames.Kind.PLAIN, false));
        }
        for (int i = 0; i < entries.size(); i++) {
            GgufTensorNames.Entry e = entries.get(i);
            Tensor p = params.get(e.parameter()).value().contiguous();
            if (e.kind() == GgufTensorNames.Kind.LEADING_ONE) p = p.reshape(Arrays.copyOfRange(p.shape(), 1, p.rank()));
            if (arch.interleavedRope()) {
                if (e.kind() == GgufTensorNames.Kind.ROPE_Q) p = RopeOrder.toInterleaved(p, c.heads(), c.headDim());
                if (e.kind() == GgufTensorNames.Kind.ROPE_K) p = RopeOrder.toInterleaved(p, c.kvHeads(), c.headDim());
            }
            w.add(e.file(), p.to(DType.F32), formatFor(e, p, type));
            progress.tensor(i + 1, entries.size(), e.file());
        }
        return note;
    }

    private static QuantFormat formatFor(GgufTensorNames.Entry e, Tensor p, QuantFormat type) {
        if (e.keepF32() || p.rank() < 2) return QuantFormat.F32;
        int cols = p.shape()[p.rank() - 1];
        if (cols % type.blockSize() != 0) return QuantFormat.F16;
        return type;
    }
}
