package org.moe4j.kernel;

import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/** Random shapes with awkward sizes, and random tensors laid out contiguously or with gaps. */
final class StridedInputs {
    /** Sizes around the vector width (16 floats here) and the odd ones that catch tail bugs. */
    static final int[] SIZES = {1, 2, 3, 7, 15, 16, 17, 33, 100};

    static final int MAX_ELEMENTS = 8000;

    private StridedInputs() {}

    /** A shape of this rank drawn from {@link #SIZES}, at most {@link #MAX_ELEMENTS} elements (tests stay fast). */
    static int[] randomShape(Rng rng, int rank) {
        int[] shape = new int[rank];
        do {
            for (int i = 0; i < rank; i++) shape[i] = SIZES[rng.nextInt(SIZES.length)];
        } while (org.moe4j.tensor.Shapes.numel(shape) > MAX_ELEMENTS);
        return shape;
    }

    /** A standard-normal F32 tensor of this shape whose last axis has stride 2 (so it is not contiguous). */
    static Tensor strided(Rng rng, int... shape) {
        if (shape.length == 0) return TestData.randn(rng);
        int[] wide = shape.clone();
        wide[wide.length - 1] *= 2;
        return TestData.randn(rng, wide).slice(-1, 0, wide[wide.length - 1], 2);
    }

    /** A standard-normal F32 tensor of this shape made by transposing the last two axes of a contiguous one. */
    static Tensor transposed(Rng rng, int... shape) {
        if (shape.length < 2) return strided(rng, shape);
        int[] swapped = shape.clone();
        swapped[shape.length - 1] = shape[shape.length - 2];
        swapped[shape.length - 2] = shape[shape.length - 1];
        return TestData.randn(rng, swapped).transpose(-1, -2);
    }

    /** Contiguous, strided or transposed, at random. */
    static Tensor anyLayout(Rng rng, int... shape) {
        return switch (rng.nextInt(3)) {
            case 0 -> TestData.randn(rng, shape);
            case 1 -> strided(rng, shape);
            default -> transposed(rng, shape);
        };
    }
}
