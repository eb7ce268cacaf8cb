package org.moe4j.model;

import java.util.List;
import org.moe4j.common.Moe4jException;

/**
 * The convolutional trunk of the CNN classifiers: for each stage, a {@code kernel x kernel} convolution with
 * "same" padding to that stage's channel count, ReLU, and 2x2 max pooling with stride 2.
 *
 * @param channels input channels (1 for Fashion-MNIST)
 * @param height   input height
 * @param width    input width
 * @param stages   each stage's output channels, e.g. [32, 64]
 * @param kernel   the convolutions' (odd) kernel size
 */
public record ConvTrunkConfig(int channels, int height, int width, List<Integer> stages, int kernel) {
    public ConvTrunkConfig {
        if (channels <= 0 || height <= 0 || width <= 0) {
            throw new Moe4jException("conv trunk: input channels, height and width must be positive, got " + channels
                    + ", " + height + ", " + width);
        }
        if (stages == null || stages.isEmpty()) throw new Moe4jException("conv trunk: needs at least one stage");
        stages = List.copyOf(stages);
        for (int s : stages) if (s <= 0) throw new Moe4jException("conv trunk: stage channels must be positive, got " + stages);
        if (kernel < 1 || kernel % 2 == 0) throw new Moe4jException("conv trunk: kernel must be odd and positive, got " + kernel);
        if ((height >> stages.size()) < 1 || (width >> stages.size()) < 1) {
            throw new Moe4jException("conv trunk: " + stages.size() + " stages halve a " + height + "x" + width
                    + " input to nothing; use fewer stages or a larger input");
        }
    }

    /** Fashion-MNIST and MNIST: 1x28x28, stages 32 and 64, 3x3 kernels. */
    public static ConvTrunkConfig mnist() {
        return new ConvTrunkConfig(1, 28, 28, List.of(32, 64), 3);
    }

    /** The trunk's output for one image: [last stage channels, height / 2^stages, width / 2^stages]. */
    public int[] outputShape() {
        return new int[] {stages.getLast(), height >> stages.size(), width >> stages.size()};
    }

    /** The number of features the flattened output has. */
    public int flatSize() {
        int[] s = outputShape();
        return Math.multiplyExact(Math.multiplyExact(s[0], s[1]), s[2]);
    }

    public int[] inputShape() {
        return new int[] {channels, height, width};
    }

    public ConvTrunkConfig withInput(int c, int h, int w) {
        return new ConvTrunkConfig(c, h, w, stages, kernel);
    }

    public ConvTrunkConfig withStages(List<Integer> s) {
        return new ConvTrunkConfig(channels, height, width, s, kernel);
    }

    public ConvTrunkConfig withKernel(int k) {
        return new ConvTrunkConfig(channels, height, width, stages, k);
    }
}
