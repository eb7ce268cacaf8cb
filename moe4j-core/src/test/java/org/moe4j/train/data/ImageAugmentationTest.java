package org.moe4j.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class ImageAugmentationTest {
    private static Tensor images(long seed) {
        return TestData.uniform(new Rng(seed), 0.1, 1, 5, 2, 6, 7); // odd width: the flip has a middle column
    }

    @Test
    void flipTwiceIsTheIdentity() {
        Tensor x = images(1);
        Tensor once = ImageAugmentation.flipHorizontal(x);
        assertFalse(Arrays.equals(x.toFloatArray(), once.toFloatArray()));
        assertEquals(x.get(3, 1, 2, 0), once.get(3, 1, 2, 6));
        assertEquals(x.get(3, 1, 2, 3), once.get(3, 1, 2, 3), "the middle column stays");
        assertArrayEquals(x.toFloatArray(), ImageAugmentation.flipHorizontal(once).toFloatArray());
    }

    @Test
    void cropWithPaddingZeroIsTheIdentity() {
        Tensor x = images(2);
        assertArrayEquals(x.toFloatArray(), new ImageAugmentation(0, false).apply(x, new Rng(5)).toFloatArray());
        assertArrayEquals(x.toFloatArray(), ImageAugmentation.crop(x, 0, 0, 0).toFloatArray());
        assertArrayEquals(x.toFloatArray(), ImageAugmentation.crop(x, 3, 3, 3).toFloatArray(), "centred crop");
    }

    @Test
    void cropShiftsAndFillsWithZeros() {
        Tensor x = images(3);
        Tensor c = ImageAugmentation.crop(x, 2, 0, 4); // window starts 2 rows above and 2 columns right of the image
        for (int ch = 0; ch < 2; ch++) {
            for (int y = 0; y < 6; y++) {
                for (int xx = 0; xx < 7; xx++) {
                    int sy = y - 2, sx = xx + 2;
                    float expected = sy >= 0 && sx < 7 ? x.get(1, ch, sy, sx) : 0f;
                    assertEquals(expected, c.get(1, ch, y, xx), "at " + ch + "," + y + "," + xx);
                }
            }
        }
        assertThrows(Moe4jException.class, () -> ImageAugmentation.crop(x, 2, 5, 0));
    }

    @Test
    void seededAndEachSampleEitherShiftedOrMirroredShifted() {
        Tensor x = images(4);
        ImageAugmentation aug = new ImageAugmentation(2, true);
        Tensor a = aug.apply(x, new Rng(77));
        assertArrayEquals(a.toFloatArray(), aug.apply(x, new Rng(77)).toFloatArray(), "same seed, same result");
        assertFalse(Arrays.equals(a.toFloatArray(), aug.apply(x, new Rng(78)).toFloatArray()), "seed matters");
        // Replay the documented draw order to check every sample.
        Rng rng = new Rng(77);
        for (int b = 0; b < 5; b++) {
            int top = rng.nextInt(5), left = rng.nextInt(5);
            boolean flip = rng.bernoulli(0.5);
            Tensor one = x.narrow(0, b, 1);
            Tensor expected = ImageAugmentation.crop(one, 2, top, left);
            if (flip) expected = ImageAugmentation.flipHorizontal(expected);
            assertArrayEquals(expected.toFloatArray(), a.narrow(0, b, 1).toFloatArray(), "sample " + b);
        }
        assertArrayEquals(images(4).toFloatArray(), x.toFloatArray(), "the input is untouched");
    }

    @Test
    void rejectsNonImages() {
        assertThrows(ShapeException.class, () -> new ImageAugmentation(1, true).apply(Tensor.zeros(4, 3), new Rng(1)));
        assertThrows(Moe4jException.class, () -> new ImageAugmentation(-1, false));
    }
}
