package org.moe4j.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class BatcherTest {
    static void assertSameBatch(Batch a, Batch b, String what) {
        assertArrayEquals(a.features().shape(), b.features().shape(), what);
        assertArrayEquals(a.features().toFloatArray(), b.features().toFloatArray(), what);
        assertEquals(a.labels(), b.labels(), what);
    }

    /** Images [n, 1, 4, 4] whose first pixel is the sample index. */
    static Dataset images(int n) {
        Tensor x = TestData.uniform(new Rng(9), 0, 1, n, 1, 4, 4);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            x.set(i, i, 0, 0, 0);
            y[i] = i % 3;
        }
        return new Dataset(x, IntTensor.of(y), List.of("a", "b", "c"));
    }

    @Test
    void eachEpochIsAFreshPermutationOfAllSamples() {
        Dataset d = DatasetTest.traced(103, 2, 3, 1);
        Batcher b = new Batcher(d, 10, 7);
        assertEquals(11, b.batchesPerEpoch());
        List<int[]> orders = new ArrayList<>();
        for (int e = 0; e < 3; e++) {
            int[] seen = new int[103];
            int k = 0;
            int batches = 0;
            while (b.hasNext()) {
                Batch batch = b.next();
                assertEquals(batches == 10 ? 3 : 10, batch.size(), "the last batch holds the remainder");
                for (int i = 0; i < batch.size(); i++) {
                    seen[k++] = (int) batch.features().get(i, 0);
                    assertEquals(seen[k - 1] % 3, batch.labels().data()[i], "labels travel with their rows");
                }
                batches++;
            }
            assertEquals(11, batches);
            assertThrows(NoSuchElementException.class, b::next);
            int[] sorted = seen.clone();
            Arrays.sort(sorted);
            for (int i = 0; i < 103; i++) assertEquals(i, sorted[i], "every sample exactly once");
            orders.add(seen);
            b.nextEpoch();
        }
        assertFalse(Arrays.equals(orders.get(0), orders.get(1)), "a new order each epoch");
        int[] identity = new int[103];
        for (int i = 0; i < 103; i++) identity[i] = i;
        assertFalse(Arrays.equals(orders.get(0), identity), "shuffled");
    }

    @Test
    void sameSeedSameBatchesOtherSeedOtherOrder() {
        Dataset d = DatasetTest.traced(64, 2, 2, 1);
        Batcher a = new Batcher(d, 8, 5);
        Batcher b = new Batcher(d, 8, 5);
        Batcher c = new Batcher(d, 8, 6);
        boolean differs = false;
        for (int i = 0; i < 8; i++) {
            Batch x = a.next();
            assertSameBatch(x, b.next(), "batch " + i);
            differs |= !Arrays.equals(x.features().toFloatArray(), c.next().features().toFloatArray());
        }
        assertTrue(differs);
        Batch first = new Batcher(d, 8, 5).next();
        Batch other = new Batcher(d, 8, 6).next();
        assertFalse(Arrays.equals(first.features().toFloatArray(), other.features().toFloatArray()));
    }

    @Test
    void unshuffledDropLastGoesInOrderAndSkipsThePartialBatch() {
        Dataset d = DatasetTest.traced(10, 2, 2, 1);
        Batcher b = new Batcher(d, 4, false, true, Augmentation.none(), 0);
        assertEquals(2, b.batchesPerEpoch());
        assertEquals(0f, b.next().features().get(0, 0));
        assertEquals(4f, b.next().features().get(0, 0));
        assertFalse(b.hasNext(), "the last 2 samples do not make a batch");
        assertThrows(Moe4jException.class, () -> new Batcher(d, 11, false, true, Augmentation.none(), 0));
    }

    @Test
    void resumingFromASavedPositionYieldsTheSameBatches() {
        Dataset d = images(45);
        ImageAugmentation aug = new ImageAugmentation(1, true);
        Batcher straight = new Batcher(d, 8, true, false, aug, 11);
        // Run through epoch 0 and 3 batches into epoch 1, save, then continue.
        while (straight.hasNext()) straight.next();
        straight.nextEpoch();
        for (int i = 0; i < 3; i++) straight.next();
        Batcher.Position saved = straight.position();
        assertEquals(new Batcher.Position(11, 1, 24, 45), saved);
        List<Batch> expected = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            if (!straight.hasNext()) straight.nextEpoch();
            expected.add(straight.next());
        }
        // A fresh batcher (even one built with another seed) restored to the position continues identically.
        Batcher resumed = new Batcher(d, 8, true, false, aug, 999);
        resumed.restore(saved);
        assertEquals(saved, resumed.position());
        for (int i = 0; i < 10; i++) {
            if (!resumed.hasNext()) resumed.nextEpoch();
            assertSameBatch(expected.get(i), resumed.next(), "batch " + i + " after the resume");
        }
        assertEquals(straight.position(), resumed.position());
    }

    @Test
    void augmentationIsAppliedPerBatchAndDependsOnThePosition() {
        Dataset d = images(16);
        Batcher plain = new Batcher(d, 16, false, false, Augmentation.none(), 3);
        Batcher augmented = new Batcher(d, 16, false, false, new ImageAugmentation(0, true), 3);
        Batch p = plain.next();
        Batch a = augmented.next();
        assertEquals(p.labels(), a.labels());
        int flipped = 0;
        for (int i = 0; i < 16; i++) {
            Tensor pi = p.features().narrow(0, i, 1);
            Tensor ai = a.features().narrow(0, i, 1);
            boolean same = Arrays.equals(pi.toFloatArray(), ai.toFloatArray());
            boolean mirror = Arrays.equals(ImageAugmentation.flipHorizontal(pi).toFloatArray(), ai.toFloatArray());
            assertTrue(same || mirror, "sample " + i + " is either unchanged or mirrored");
            if (!same) flipped++;
        }
        assertTrue(flipped > 2 && flipped < 14, "about half are flipped: " + flipped);
        augmented.nextEpoch();
        assertFalse(Arrays.equals(a.features().toFloatArray(), augmented.next().features().toFloatArray()),
                "another epoch draws other flips");
        assertArrayEquals(d.features().toFloatArray(), images(16).features().toFloatArray(), "the dataset is untouched");
    }

    @Test
    void restoreRejectsAPositionFromOtherData() {
        Batcher b = new Batcher(images(10), 4, 1);
        Moe4jException e = assertThrows(Moe4jException.class, () -> b.restore(new Batcher.Position(1, 0, 0, 12)));
        assertTrue(e.getMessage().contains("12") && e.getMessage().contains("same data"), e.getMessage());
        assertThrows(Moe4jException.class, () -> new Batcher.Position(1, 0, 11, 10));
    }
}
