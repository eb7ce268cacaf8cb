package org.moe4j.train.data;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * A labelled classification dataset: features [n, ...] (float32, contiguous), labels [n] in [0, classes), and the
 * class names (index = label). Every method returns new tensors and never writes to these; the features are not
 * copied on construction (a dataset can be hundreds of megabytes), so the caller must not write to them either.
 */
public record Dataset(Tensor features, IntTensor labels, List<String> classNames) {
    public Dataset {
        features = features.dtype() == DType.F32 ? features.contiguous() : features.to(DType.F32);
        classNames = List.copyOf(classNames);
        if (features.rank() < 2 || labels.rank() != 1 || features.dim(0) != labels.numel()) {
            throw ShapeException.of("Dataset", "need features [n, ...] of rank 2 or more and labels [n]",
                    features.shape(), labels.shape());
        }
        if (classNames.isEmpty()) throw new Moe4jException("Dataset: no class names");
        int[] y = labels.data();
        for (int i = 0; i < y.length; i++) {
            if (y[i] < 0 || y[i] >= classNames.size()) {
                throw new Moe4jException("Dataset: label " + y[i] + " of sample " + i + " is outside [0, "
                        + classNames.size() + ") for classes " + classNames);
            }
        }
    }

    public int size() {
        return labels.numel();
    }

    public int numClasses() {
        return classNames.size();
    }

    /** The shape of one sample, e.g. [1, 28, 28] or [f]. */
    public int[] sampleShape() {
        return Arrays.copyOfRange(features.shape(), 1, features.rank());
    }

    /** Values per sample. */
    public int sampleSize() {
        return features.numel() / Math.max(1, size());
    }

    /** True for image batches [n, c, h, w]. */
    public boolean isImages() {
        return features.rank() == 4;
    }

    /** How many samples each class has. */
    public int[] classCounts() {
        int[] counts = new int[numClasses()];
        for (int y : labels.data()) counts[y]++;
        return counts;
    }

    /** The given rows, in the given order, as a batch of fresh tensors. */
    public Batch batch(int[] rows, int from, int to) {
        int b = to - from;
        int s = sampleSize();
        float[] src = features.floats();
        float[] x = new float[Math.multiplyExact(b, s)]; // [b, ...]
        int[] y = new int[b];
        int[] labelData = labels.data();
        for (int i = 0; i < b; i++) {
            int r = rows[from + i];
            if (r < 0 || r >= size()) throw new Moe4jException("Dataset.batch: row " + r + " outside [0, " + size() + ")");
            System.arraycopy(src, features.offset() + r * s, x, i * s, s);
            y[i] = labelData[r];
        }
        int[] shape = features.shape();
        shape[0] = b;
        return new Batch(Tensor.of(x, shape), new IntTensor(y, new int[] {b}));
    }

    /** A new dataset of the given rows (copied), in the given order. */
    public Dataset subset(int[] rows) {
        Batch b = batch(rows, 0, rows.length);
        return new Dataset(b.features(), b.labels(), classNames);
    }

    /** The same labels and classes with other features (e.g. normalized), which must have the same first dim. */
    public Dataset withFeatures(Tensor newFeatures) {
        return new Dataset(newFeatures, labels, classNames);
    }

    /** A train/validation pair. */
    public record Split(Dataset train, Dataset validation) {}

    /**
     * A seeded, stratified split: from each class, {@code round(validationFraction * count)} samples chosen at
     * random go to validation, the rest to train; both keep the original order of their rows. The same seed gives
     * the same split.
     */
    public Split split(double validationFraction, long seed) {
        if (!(validationFraction > 0 && validationFraction < 1)) {
            throw new Moe4jException("Dataset.split: the validation fraction must be in (0, 1), got " + validationFraction);
        }
        Rng rng = new Rng(seed);
        boolean[] toValidation = new boolean[size()];
        int[] counts = classCounts();
        int[][] byClass = new int[numClasses()][];
        for (int c = 0; c < byClass.length; c++) byClass[c] = new int[counts[c]];
        int[] fill = new int[numClasses()];
        int[] y = labels.data();
        for (int i = 0; i < y.length; i++) byClass[y[i]][fill[y[i]]++] = i;
        int validation = 0;
        for (int[] rows : byClass) {
            rng.shuffle(rows);
            int k = (int) Math.round(validationFraction * rows.length);
            for (int i = 0; i < k; i++) toValidation[rows[i]] = true;
            validation += k;
        }
        if (validation == 0 || validation == size()) {
            throw new Moe4jException("Dataset.split: a validation fraction of " + validationFraction + " leaves "
                    + (validation == 0 ? "validation" : "train") + " empty for " + size() + " samples");
        }
        int[] trainRows = new int[size() - validation];
        int[] validationRows = new int[validation];
        int t = 0, v = 0;
        for (int i = 0; i < toValidation.length; i++) {
            if (toValidation[i]) validationRows[v++] = i;
            else trainRows[t++] = i;
        }
        return new Split(subset(trainRows), subset(validationRows));
    }

    /** The first {@code perClass} samples of each class (all of a class that has fewer), in the original order. */
    public Dataset firstPerClass(int perClass) {
        int[] taken = new int[numClasses()];
        List<Integer> rows = new ArrayList<>();
        int[] y = labels.data();
        for (int i = 0; i < y.length; i++) if (taken[y[i]]++ < perClass) rows.add(i);
        return subset(rows.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * A SHA-256 over the shape, labels, feature bits and class names, in hex: the "data hash" a checkpoint
     * records, so that a resumed or evaluated run can tell it has the same data.
     */
    public String fingerprint() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer bb = ByteBuffer.allocate(1 << 16);
            for (int d : features.shape()) bb.putInt(d);
            bb.putInt(-1);
            for (int y : labels.data()) {
                if (bb.remaining() < 4) flush(md, bb);
                bb.putInt(y);
            }
            float[] x = features.floats();
            for (int i = features.offset(), end = i + features.numel(); i < end; i++) {
                if (bb.remaining() < 4) flush(md, bb);
                bb.putInt(Float.floatToRawIntBits(x[i]));
            }
            flush(md, bb);
            for (String c : classNames) {
                md.update(c.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private static void flush(MessageDigest md, ByteBuffer bb) {
        md.update(bb.array(), 0, bb.position());
        bb.clear();
    }

    @Override
    public String toString() {
        return "Dataset" + Arrays.toString(features.shape()) + " " + numClasses() + " classes " + classNames;
    }
}
