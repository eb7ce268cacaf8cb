package org.moe4j.train.data;

import java.util.Arrays;
import org.moe4j.common.Moe4jException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;

/**
 * Standardization statistics, {@code x' = (x - mean) / std}, fitted on the training split and applied unchanged to
 * every other split. A record of plain arrays so a checkpoint can store it and a resumed or evaluated model sees
 * exactly the inputs it was trained on.
 *
 * <p>Kinds: {@link Kind#PER_FEATURE} has one (mean, std) per value of a sample (tabular data); {@link
 * Kind#PER_CHANNEL} one per channel of images [n, c, h, w] (or any [n, c, ...]); {@link Kind#GLOBAL} one for
 * everything (images whose channels mean the same). Statistics are computed in double, in a fixed order, so they
 * are deterministic; std is the population standard deviation, and a constant feature (std below 1e-12) gets std 1,
 * so it maps to 0 instead of NaN.
 */
public record Normalization(Kind kind, float[] mean, float[] std) {
    public enum Kind {
        PER_FEATURE,
        PER_CHANNEL,
        GLOBAL
    }

    public Normalization {
        mean = mean.clone();
        std = std.clone();
        if (mean.length == 0 || mean.length != std.length || (kind == Kind.GLOBAL && mean.length != 1)) {
            throw new Moe4jException("Normalization: " + kind + " needs equal, non-empty mean and std arrays (one for "
                    + "GLOBAL), got " + mean.length + " and " + std.length);
        }
        for (int i = 0; i < std.length; i++) {
            if (!(std[i] > 0) || !Float.isFinite(std[i]) || !Float.isFinite(mean[i])) {
                throw new Moe4jException("Normalization: std must be positive and finite, mean finite; entry " + i
                        + " has mean " + mean[i] + ", std " + std[i]);
            }
        }
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    /** Per-channel statistics for images (rank 4 or more), else per-feature ones. */
    public static Normalization fit(Dataset train) {
        return fit(train, train.isImages() ? Kind.PER_CHANNEL : Kind.PER_FEATURE);
    }

    /** Statistics of the given kind over {@code train}'s features. */
    public static Normalization fit(Dataset train, Kind kind) {
        Tensor x = train.features();
        int groups = groups(kind, x);
        int inner = inner(kind, x);
        float[] data = x.floats();
        int base = x.offset();
        int blocks = x.numel() / Math.multiplyExact(groups, inner);
        double[] sum = new double[groups];
        for (int b = 0; b < blocks; b++) {
            for (int g = 0; g < groups; g++) {
                int at = base + (b * groups + g) * inner;
                double s = 0;
                for (int i = 0; i < inner; i++) s += data[at + i];
                sum[g] += s;
            }
        }
        double count = (double) blocks * inner;
        double[] mu = new double[groups];
        for (int g = 0; g < groups; g++) mu[g] = sum[g] / count;
        double[] sq = new double[groups];
        for (int b = 0; b < blocks; b++) {
            for (int g = 0; g < groups; g++) {
                int at = base + (b * groups + g) * inner;
                double s = 0;
                for (int i = 0; i < inner; i++) {
                    double d = data[at + i] - mu[g];
                    s += d * d;
                }
                sq[g] += s;
            }
        }
        float[] mean = new float[groups];
        float[] std = new float[groups];
        for (int g = 0; g < groups; g++) {
            double sd = Math.sqrt(sq[g] / count);
            mean[g] = (float) mu[g];
            std[g] = sd < 1e-12 ? 1f : (float) sd;
        }
        return new Normalization(kind, mean, std);
    }

    /** How many (mean, std) pairs a kind has for features {@code x} [n, ...]. */
    private static int groups(Kind kind, Tensor x) {
        return switch (kind) {
            case GLOBAL -> 1;
            case PER_CHANNEL -> {
                if (x.rank() < 3) throw new Moe4jException("Normalization: PER_CHANNEL needs [n, c, ...], got " + shape(x));
                yield x.dim(1);
            }
            case PER_FEATURE -> x.numel() / Math.max(1, x.dim(0));
        };
    }

    /** How many consecutive values share one (mean, std). */
    private static int inner(Kind kind, Tensor x) {
        int sample = x.numel() / Math.max(1, x.dim(0));
        return switch (kind) {
            case GLOBAL -> sample;
            case PER_CHANNEL -> sample / x.dim(1);
            case PER_FEATURE -> 1;
        };
    }

    /** New normalized features [n, ...]; the input is not changed. */
    public Tensor apply(Tensor features) {
        Tensor x = features.contiguous();
        int groups = groups(kind, x);
        if (groups != mean.length) {
            throw new Moe4jException("Normalization: fitted " + kind + " statistics for " + mean.length + " groups, "
                    + "but features " + shape(x) + " have " + groups);
        }
        int inner = inner(kind, x);
        boolean f32 = x.dtype() == DType.F32;
        float[] src = f32 ? x.floats() : x.toFloatArray();
        int base = f32 ? x.offset() : 0;
        float[] out = new float[x.numel()];
        int blocks = out.length / Math.multiplyExact(groups, inner);
        for (int b = 0; b < blocks; b++) {
            for (int g = 0; g < groups; g++) {
                int at = (b * groups + g) * inner;
                float m = mean[g], s = std[g];
                for (int i = 0; i < inner; i++) out[at + i] = (src[base + at + i] - m) / s;
            }
        }
        return Tensor.of(out, x.shape());
    }

    /** The dataset with normalized features. */
    public Dataset apply(Dataset data) {
        return data.withFeatures(apply(data.features()));
    }

    private static String shape(Tensor x) {
        return Arrays.toString(x.shape());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Normalization n && n.kind == kind && Arrays.equals(n.mean, mean) && Arrays.equals(n.std, std);
    }

    @Override
    public int hashCode() {
        return (kind.hashCode() * 31 + Arrays.hashCode(mean)) * 31 + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "Normalization[" + kind + ", mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + "]";
    }
}
