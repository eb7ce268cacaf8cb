package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.kernel.RopeKernels;
import org.moe4j.testing.TestData;

class RotaryTest {
    @Test
    void gradcheckOnOddShapesAndOffsets() {
        Rng rng = new Rng(9);
        int[][] shapes = {{2, 3, 2, 6}, {5, 1, 4}, {1, 2, 3, 3, 10}};
        for (int[] shape : shapes) {
            RopeKernels.Tables tables = RopeKernels.Tables.of(shape[shape.length - 1], 500, 12);
            for (int start : new int[] {0, 4}) {
                GradCheck.Result r = GradCheck.check(v -> Rotary.rope(v[0], tables, start), TestData.randn64(rng, shape));
                assertTrue(r.passed(), r.toString());
            }
        }
    }
}
