package org.moe4j.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Moe4jException;
import org.moe4j.io.DataFormatException;
import org.moe4j.io.Idx;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

class FashionMnistTest {
    @TempDir
    Path tmp;

    /** A tiny dataset in Fashion-MNIST's layout: n images of h x w with pixel (i, 0, 0) = i, labels i % 10. */
    static void writeFake(Path dir, String prefix, int n, int h, int w, boolean gzip) throws IOException {
        Files.createDirectories(dir);
        float[] px = new float[n * h * w];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            px[i * h * w] = i;
            px[i * h * w + 1] = 255;
            y[i] = i % 10;
        }
        String gz = gzip ? ".gz" : "";
        Idx.write(dir.resolve(prefix + "-images-idx3-ubyte" + gz), Tensor.of(px, n, h, w), Idx.Type.UBYTE);
        Idx.write(dir.resolve(prefix + "-labels-idx1-ubyte" + gz), IntTensor.of(y), Idx.Type.UBYTE);
    }

    @Test
    void loadsImagesScaledToTheUnitIntervalWithAChannelAxis() throws IOException {
        Path d = tmp.resolve("fm");
        writeFake(d, "train", 30, 28, 28, true);
        writeFake(d, "t10k", 12, 28, 28, false); // plain files work too
        DataSplits s = FashionMnist.load(FashionMnist.locate(d));
        assertArrayEquals(new int[] {30, 1, 28, 28}, s.train().features().shape());
        assertArrayEquals(new int[] {12, 1, 28, 28}, s.test().orElseThrow().features().shape());
        assertEquals(7 / 255f, s.train().features().get(7, 0, 0, 0));
        assertEquals(1f, s.train().features().get(7, 0, 0, 1));
        assertEquals(3, s.train().labels().data()[13]);
        assertEquals("Ankle boot", s.train().classNames().get(9));
    }

    @Test
    void searchOrderIsGivenThenEnvironmentThenSystemFolder() throws IOException {
        Path env = tmp.resolve("data");
        Path sys = tmp.resolve("usr-share");
        writeFake(env.resolve("fashion-mnist"), "train", 10, 2, 2, true);
        writeFake(env.resolve("fashion-mnist"), "t10k", 10, 2, 2, true);
        writeFake(sys, "train", 10, 2, 2, true);
        writeFake(sys, "t10k", 10, 2, 2, true);
        assertEquals(env.resolve("fashion-mnist"), FashionMnist.locate(null, env.toString(), sys));
        assertEquals(sys, FashionMnist.locate(null, null, sys));
        assertEquals(sys, FashionMnist.locate(null, tmp.resolve("elsewhere").toString(), sys));
        assertEquals(sys, FashionMnist.locate(sys, env.toString(), tmp.resolve("none")));
    }

    @Test
    void missingDataSaysWhereItLookedAndHowToGetIt() throws IOException {
        Path sys = tmp.resolve("usr-share");
        writeFake(sys, "train", 10, 2, 2, true); // the test files are missing
        Moe4jException e = assertThrows(Moe4jException.class, () -> FashionMnist.locate(null, null, sys));
        String m = e.getMessage();
        assertTrue(m.contains("$MOE4J_DATA is not set"), m);
        assertTrue(m.contains(sys + " (missing t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz])"), m);
        assertTrue(m.contains("apt-get install dataset-fashion-mnist") && m.contains("--data fashion-mnist:DIR"), m);
        Moe4jException given = assertThrows(Moe4jException.class,
                () -> FashionMnist.locate(tmp.resolve("typo"), null, sys));
        assertTrue(given.getMessage().contains("typo (given by --data): no such folder"), given.getMessage());
    }

    @Test
    void mismatchedFilesAreFormatErrors() throws IOException {
        Path d = tmp.resolve("mixed");
        writeFake(d, "train", 10, 2, 2, true);
        writeFake(d, "t10k", 10, 2, 2, true);
        Idx.write(d.resolve("t10k-labels-idx1-ubyte.gz"), IntTensor.of(1, 2, 3), Idx.Type.UBYTE);
        DataFormatException e = assertThrows(DataFormatException.class, () -> FashionMnist.load(d));
        assertTrue(e.getMessage().contains("3 labels for 10 images"), e.getMessage());
        Files.copy(d.resolve("train-labels-idx1-ubyte.gz"), d.resolve("train-images-idx3-ubyte.gz"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        e = assertThrows(DataFormatException.class, () -> FashionMnist.load(d));
        assertTrue(e.getMessage().contains("expected images [n, h, w]"), e.getMessage());
    }

    @Test
    void bundledSubsetIsStratifiedAndSmall() {
        DataSplits s = DataSpec.parse("bundled:fashion-mnist-small").load();
        assertArrayEquals(new int[] {6000, 1, 14, 14}, s.train().features().shape());
        Dataset test = s.test().orElseThrow();
        assertArrayEquals(new int[] {1000, 1, 14, 14}, test.features().shape());
        for (int c : s.train().classCounts()) assertEquals(600, c);
        for (int c : test.classCounts()) assertEquals(100, c);
        float max = 0;
        for (float v : s.train().features().floats()) max = Math.max(max, v);
        assertTrue(max > 0.9f && max <= 1f, "pixels in [0, 1]: max " + max);
        assertEquals(FashionMnist.CLASS_NAMES, test.classNames());
    }

    /** The shared copy of the real data: shared/data/fashion-mnist in the working directory or a folder above. */
    static Path sharedCopy() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path c = d.resolve("shared/data/fashion-mnist");
            if (Files.isDirectory(c)) return c;
        }
        return null;
    }

    @Test
    void readsTheRealFashionMnistWhenPresent() {
        Path dir = sharedCopy();
        Assumptions.assumeTrue(dir != null, "skipped: no shared/data/fashion-mnist in the working directory or above "
                + "(the real Fashion-MNIST is not on this machine)");
        DataSplits s = new DataSpec.FashionMnistFiles(java.util.Optional.of(dir)).load();
        assertArrayEquals(new int[] {60000, 1, 28, 28}, s.train().features().shape());
        Dataset test = s.test().orElseThrow();
        assertArrayEquals(new int[] {10000, 1, 28, 28}, test.features().shape());
        for (int c : s.train().classCounts()) assertEquals(6000, c);
        for (int c : test.classCounts()) assertEquals(1000, c);
        // The published first labels of the training set: Ankle boot, T-shirt/top, T-shirt/top, Dress.
        assertArrayEquals(new int[] {9, 0, 0, 3}, java.util.Arrays.copyOf(s.train().labels().data(), 4));
        double sum = 0;
        for (float v : test.features().floats()) sum += v;
        double mean = sum / test.features().numel();
        assertEquals(0.2868, mean, 0.002, "the well-known mean pixel of the test split");
    }
}
