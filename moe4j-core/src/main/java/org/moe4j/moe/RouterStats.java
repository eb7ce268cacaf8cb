package org.moe4j.moe;

import java.util.Arrays;
import java.util.Locale;
import org.moe4j.common.Moe4jException;

/**
 * Router telemetry for one layer, summed over any number of batches with {@link #merge}: how many assignments
 * each expert received and dropped, the routing entropy, and the router's bias values where it has them.
 *
 * @param layer        the layer's name
 * @param tokens       tokens routed
 * @param routed       [experts] assignments each expert received (before capacity)
 * @param dropped      [experts] assignments each expert dropped for capacity
 * @param entropySum   sum over tokens of the entropy (nats) of the router's distribution
 * @param entropyCount tokens whose entropy was measured
 * @param bias         [experts] the router's selection biases (DeepSeek-V3), or null
 */
public record RouterStats(String layer, long tokens, long[] routed, long[] dropped, double entropySum,
        long entropyCount, double[] bias) {

    public RouterStats {
        if (routed.length != dropped.length) throw new Moe4jException("router stats: routed and dropped differ in length");
        routed = routed.clone();
        dropped = dropped.clone();
        bias = bias == null ? null : bias.clone();
    }

    public static RouterStats empty(String layer, int experts) {
        return new RouterStats(layer, 0, new long[experts], new long[experts], 0, 0, null);
    }

    public int experts() {
        return routed.length;
    }

    /** The sum of this and {@code other} (same layer and expert count); the newer bias values are kept. */
    public RouterStats merge(RouterStats other) {
        if (other.routed.length != routed.length) {
            throw new Moe4jException("router stats: cannot merge " + routed.length + " and " + other.routed.length + " experts");
        }
        long[] r = routed.clone(), d = dropped.clone();
        for (int e = 0; e < r.length; e++) {
            r[e] += other.routed[e];
            d[e] += other.dropped[e];
        }
        return new RouterStats(layer, tokens + other.tokens, r, d, entropySum + other.entropySum,
                entropyCount + other.entropyCount, other.bias != null ? other.bias : bias);
    }

    public long totalRouted() {
        return Arrays.stream(routed).sum();
    }

    public long totalDropped() {
        return Arrays.stream(dropped).sum();
    }

    /** Each expert's fraction of all assignments. */
    public double[] share() {
        double total = totalRouted();
        return Arrays.stream(routed).mapToDouble(r -> total == 0 ? 0 : r / total).toArray();
    }

    /** Mean routing entropy per token, in nats (log(experts) when the router is undecided). */
    public double meanEntropy() {
        return entropyCount == 0 ? Double.NaN : entropySum / entropyCount;
    }

    /** Coefficient of variation of the load: 0 when perfectly balanced. */
    public double loadCv() {
        double mean = (double) totalRouted() / routed.length;
        if (mean == 0) return 0;
        double var = 0;
        for (long r : routed) var += (r - mean) * (r - mean);
        return Math.sqrt(var / routed.length) / mean;
    }

    /** The busiest expert's load over the mean load: 1 when balanced. */
    public double maxOverMean() {
        double mean = (double) totalRouted() / routed.length;
        return mean == 0 ? 0 : Arrays.stream(routed).max().orElse(0) / mean;
    }

    public double dropRate() {
        long total = totalRouted();
        return total == 0 ? 0 : (double) totalDropped() / total;
    }

    /** One JSON object with the raw counts and the derived figures. */
    public String toJson() {
        StringBuilder sb = new StringBuilder("{");
        sb.append("\"layer\":").append(quote(layer));
        sb.append(",\"tokens\":").append(tokens);
        sb.append(",\"experts\":").append(routed.length);
        sb.append(",\"routed\":").append(Arrays.toString(routed).replace(" ", ""));
        sb.append(",\"dropped\":").append(Arrays.toString(dropped).replace(" ", ""));
        sb.append(",\"share\":").append(numbers(share()));
        sb.append(",\"dropRate\":").append(number(dropRate()));
        sb.append(",\"meanEntropy\":").append(number(meanEntropy()));
        sb.append(",\"loadCv\":").append(number(loadCv()));
        sb.append(",\"maxOverMean\":").append(number(maxOverMean()));
        sb.append(",\"entropySum\":").append(number(entropySum));
        sb.append(",\"entropyCount\":").append(entropyCount);
        if (bias != null) sb.append(",\"bias\":").append(numbers(bias));
        return sb.append('}').toString();
    }

    private static String numbers(double[] v) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) sb.append(i > 0 ? "," : "").append(number(v[i]));
        return sb.append(']').toString();
    }

    private static String number(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null";
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                default -> {
                    if (c < 0x20) sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RouterStats s && layer.equals(s.layer) && tokens == s.tokens && Arrays.equals(routed, s.routed)
                && Arrays.equals(dropped, s.dropped) && Double.compare(entropySum, s.entropySum) == 0
                && entropyCount == s.entropyCount && Arrays.equals(bias, s.bias);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * layer.hashCode() + Arrays.hashCode(routed)) + Arrays.hashCode(dropped);
    }

    @Override
    public String toString() {
        return toJson();
    }
}
