package org.moe4j.train.report;

import java.util.Arrays;
import java.util.Objects;
import org.moe4j.common.Moe4jException;

/**
 * Which experts each class uses in one MoE layer: how many of a class's tokens (images, patches) each expert
 * received, counted over an evaluation split.
 *
 * @param layer  the layer's name, as in the routing records
 * @param counts [classes][experts] assignment counts
 */
public record ClassExpertCounts(String layer, long[][] counts) {
    public ClassExpertCounts {
        Objects.requireNonNull(layer, "layer");
        counts = counts.clone();
        int experts = counts.length == 0 ? 0 : counts[0].length;
        for (int c = 0; c < counts.length; c++) {
            if (counts[c].length != experts) {
                throw new Moe4jException("class x expert counts of layer " + layer + ": row " + c + " has "
                        + counts[c].length + " experts, row 0 has " + experts);
            }
            for (long v : counts[c]) {
                if (v < 0) throw new Moe4jException("class x expert counts of layer " + layer + ": negative count in row " + c);
            }
            counts[c] = counts[c].clone();
        }
    }

    public int classes() {
        return counts.length;
    }

    public int experts() {
        return counts.length == 0 ? 0 : counts[0].length;
    }

    /** The count of class {@code c} at expert {@code e}. */
    public long count(int c, int e) {
        return counts[c][e];
    }

    public long rowTotal(int c) {
        return Arrays.stream(counts[c]).sum();
    }

    public long columnTotal(int e) {
        long sum = 0;
        for (long[] row : counts) sum += row[e];
        return sum;
    }

    @Override
    public long[][] counts() {
        long[][] copy = new long[counts.length][];
        for (int c = 0; c < counts.length; c++) copy[c] = counts[c].clone();
        return copy;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClassExpertCounts m && layer.equals(m.layer) && Arrays.deepEquals(counts, m.counts);
    }

    @Override
    public int hashCode() {
        return 31 * layer.hashCode() + Arrays.deepHashCode(counts);
    }

    @Override
    public String toString() {
        return "ClassExpertCounts[" + layer + ", " + classes() + " classes x " + experts() + " experts]";
    }
}
