package org.moe4j.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class DatasetTest {
    /** n samples of f features; feature 0 holds the sample's index, so rows can be traced; labels cycle classes. */
    static Dataset traced(int n, int f, int classes, long seed) {
        Tensor x = TestData.uniform(new Rng(seed), -2, 5, n, f);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            x.set(i, i, 0);
            y[i] = i % classes;
        }
        List<String> names = new java.util.ArrayList<>();
        for (int c = 0; c < classes; c++) names.add("c" + c);
        return new Dataset(x, IntTensor.of(y), names);
    }

    static int[] ids(Dataset d) {
        int[] out = new int[d.size()];
        for (int i = 0; i < out.length; i++) out[i] = (int) d.features().get(i, 0);
        return out;
    }

    @Test
    void validatesShapesAndLabels() {
        assertThrows(Moe4jException.class, () -> new Dataset(Tensor.zeros(3, 2), IntTensor.of(0, 1), List.of("a", "b")));
        Moe4jException e = assertThrows(Moe4jException.class,
                () -> new Dataset(Tensor.zeros(2, 2), IntTensor.of(0, 2), List.of("a", "b")));
        assertTrue(e.getMessage().contains("label 2 of sample 1"), e.getMessage());
    }

    @Test
    void splitIsSeededStratifiedDisjointAndOrdered() {
        Dataset d = traced(1000, 3, 4, 1);
        Dataset.Split a = d.split(0.2, 42);
        Dataset.Split b = d.split(0.2, 42);
        assertArrayEquals(ids(a.train()), ids(b.train()));
        assertArrayEquals(ids(a.validation()), ids(b.validation()));
        assertFalse(java.util.Arrays.equals(ids(a.validation()), ids(d.split(0.2, 43).validation())), "seed matters");
        assertArrayEquals(new int[] {50, 50, 50, 50}, a.validation().classCounts(), "20% of each class");
        Set<Integer> all = new HashSet<>();
        for (int i : ids(a.train())) assertTrue(all.add(i));
        for (int i : ids(a.validation())) assertTrue(all.add(i), "row " + i + " in both splits");
        assertEquals(1000, all.size());
        int[] v = ids(a.validation());
        for (int i = 1; i < v.length; i++) assertTrue(v[i - 1] < v[i], "validation keeps the original order");
        // Features and labels stay together.
        for (int i = 0; i < v.length; i++) assertEquals(v[i] % 4, a.validation().labels().data()[i]);
    }

    @Test
    void normalizationFitsOnTrainAndAppliesTheSameStatsElsewhere() {
        Dataset d = traced(400, 5, 2, 3);
        Dataset.Split s = d.split(0.25, 7);
        Normalization norm = Normalization.fit(s.train());
        assertEquals(Normalization.Kind.PER_FEATURE, norm.kind());
        Tensor trainN = norm.apply(s.train().features());
        // Per feature, the normalized train split has mean 0 and std 1.
        for (int j = 0; j < 5; j++) {
            double sum = 0, sq = 0;
            for (int i = 0; i < s.train().size(); i++) sum += trainN.get(i, j);
            double mean = sum / s.train().size();
            for (int i = 0; i < s.train().size(); i++) sq += Math.pow(trainN.get(i, j) - mean, 2);
            assertEquals(0, mean, 1e-5);
            assertEquals(1, Math.sqrt(sq / s.train().size()), 1e-5);
        }
        // The validation split uses the train statistics, element by element.
        Dataset valN = norm.apply(s.validation());
        float[] mean = norm.mean(), std = norm.std();
        for (int i = 0; i < s.validation().size(); i++) {
            for (int j = 0; j < 5; j++) {
                assertEquals((s.validation().features().get(i, j) - mean[j]) / std[j], valN.features().get(i, j));
            }
        }
        assertEquals(norm, Normalization.fit(s.train()), "deterministic, and equal as a record");
        assertEquals(norm, new Normalization(norm.kind(), norm.mean(), norm.std()), "restorable from its parts");
        assertNotEquals(norm, Normalization.fit(s.validation()));
    }

    @Test
    void globalAndPerChannelStatisticsForImages() {
        // Two channels: channel 0 all 2, channel 1 alternating 0 and 4.
        int n = 3, h = 2, w = 2;
        float[] x = new float[n * 2 * h * w];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < 4; p++) {
                x[i * 8 + p] = 2;
                x[i * 8 + 4 + p] = p % 2 == 0 ? 0 : 4;
            }
        }
        Dataset d = new Dataset(Tensor.of(x, n, 2, h, w), IntTensor.of(0, 0, 0), List.of("only"));
        Normalization perChannel = Normalization.fit(d);
        assertEquals(Normalization.Kind.PER_CHANNEL, perChannel.kind());
        assertArrayEquals(new float[] {2, 2}, perChannel.mean());
        assertArrayEquals(new float[] {1, 2}, perChannel.std(), "a constant channel gets std 1, not 0");
        Normalization global = Normalization.fit(d, Normalization.Kind.GLOBAL);
        assertArrayEquals(new float[] {2}, global.mean());
        assertEquals((float) Math.sqrt(2), global.std()[0]);
        Tensor applied = global.apply(d.features());
        assertEquals((4 - 2) / (float) Math.sqrt(2), applied.get(1, 1, 0, 1));
        Moe4jException e = assertThrows(Moe4jException.class, () -> perChannel.apply(Tensor.zeros(2, 3, 2, 2)));
        assertTrue(e.getMessage().contains("2 groups"), e.getMessage());
    }

    @Test
    void fingerprintIsStableAndSeesEveryPart() {
        Dataset d = traced(50, 3, 2, 5);
        assertEquals(d.fingerprint(), traced(50, 3, 2, 5).fingerprint());
        assertEquals(64, d.fingerprint().length());
        Tensor x = d.features().copy();
        x.set(x.get(49, 2) + 1e-3f, 49, 2);
        assertNotEquals(d.fingerprint(), d.withFeatures(x).fingerprint(), "one feature changed");
        int[] y = d.labels().data().clone();
        y[0] = 1;
        assertNotEquals(d.fingerprint(), new Dataset(d.features(), IntTensor.of(y), d.classNames()).fingerprint());
        assertNotEquals(d.fingerprint(), new Dataset(d.features(), d.labels(), List.of("c0", "cX")).fingerprint());
    }

    @Test
    void firstPerClassTakesTheFirstOfEachClass() {
        Dataset d = traced(20, 2, 3, 1).firstPerClass(2);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, ids(d));
        assertArrayEquals(new int[] {2, 2, 2}, d.classCounts());
    }
}
