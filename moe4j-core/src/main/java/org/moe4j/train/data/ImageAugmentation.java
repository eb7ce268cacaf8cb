package org.moe4j.train.data;

import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;

/**
 * The standard augmentation for small images [b, c, h, w]: a random crop with zero padding (pad each side by
 * {@code padding}, cut an h by w window at a random offset, i.e. shift by -padding..padding in each direction and
 * fill with zeros) and, when {@code horizontalFlip}, a mirror image with probability 1/2. Per sample, in order, it
 * draws the vertical offset, the horizontal offset, then (only when flipping is on) the flip; all channels of a
 * sample move together.
 */
public record ImageAugmentation(int padding, boolean horizontalFlip) implements Augmentation {
    public ImageAugmentation {
        if (padding < 0) throw new Moe4jException("ImageAugmentation: padding must be 0 or more, got " + padding);
    }

    @Override
    public Tensor apply(Tensor batch, Rng rng) {
        int[] s = checkImages("ImageAugmentation", batch);
        Tensor x = batch.contiguous();
        float[] src = x.toFloatArray();
        float[] out = new float[src.length];
        int sample = s[1] * s[2] * s[3];
        for (int b = 0; b < s[0]; b++) {
            int top = rng.nextInt(2 * padding + 1);
            int left = rng.nextInt(2 * padding + 1);
            boolean flip = horizontalFlip && rng.bernoulli(0.5);
            shift(src, out, b * sample, s[1], s[2], s[3], top - padding, left - padding, flip);
        }
        return Tensor.of(out, s);
    }

    /**
     * Every image of {@code images} [b, c, h, w] cropped from its zero-padded version at offset (top, left), with
     * 0 &lt;= top, left &lt;= 2 padding; (padding, padding) gives the image back.
     */
    public static Tensor crop(Tensor images, int padding, int top, int left) {
        int[] s = checkImages("ImageAugmentation.crop", images);
        if (padding < 0 || top < 0 || left < 0 || top > 2 * padding || left > 2 * padding) {
            throw new Moe4jException("ImageAugmentation.crop: need 0 <= top, left <= 2 * padding, got padding " + padding
                    + ", top " + top + ", left " + left);
        }
        return transform(images, s, top - padding, left - padding, false);
    }

    /** Every image of {@code images} [b, c, h, w] mirrored left to right. */
    public static Tensor flipHorizontal(Tensor images) {
        return transform(images, checkImages("ImageAugmentation.flipHorizontal", images), 0, 0, true);
    }

    private static Tensor transform(Tensor images, int[] s, int dy, int dx, boolean flip) {
        float[] src = images.contiguous().toFloatArray();
        float[] out = new float[src.length];
        int sample = s[1] * s[2] * s[3];
        for (int b = 0; b < s[0]; b++) shift(src, out, b * sample, s[1], s[2], s[3], dy, dx, flip);
        return Tensor.of(out, s);
    }

    /** out[y][x] = in[y + dy][x' + dx] with x' = w-1-x when flipped, zero outside the image, for each channel. */
    private static void shift(float[] src, float[] out, int at, int c, int h, int w, int dy, int dx, boolean flip) {
        for (int ch = 0; ch < c; ch++) {
            int plane = at + ch * h * w;
            for (int y = 0; y < h; y++) {
                int sy = y + dy;
                if (sy < 0 || sy >= h) continue; // a padding row: stays zero
                int row = plane + y * w;
                int srcRow = plane + sy * w;
                for (int x = 0; x < w; x++) {
                    int sx = (flip ? w - 1 - x : x) + dx;
                    if (sx >= 0 && sx < w) out[row + x] = src[srcRow + sx];
                }
            }
        }
    }

    private static int[] checkImages(String op, Tensor t) {
        if (t.rank() != 4) throw ShapeException.of(op, "expected images [b, c, h, w]", t.shape());
        return t.shape();
    }
}
