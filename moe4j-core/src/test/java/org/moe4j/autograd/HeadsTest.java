package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.kernel.RopeKernels;
import org.moe4j.testing.TestData;

class HeadsTest {
    private final Rng rng = new Rng(29);

    @Test
    void splitGradcheckWithRotationAndRepeats() {
        int[][] cases = {{2, 3, 2, 6, 2}, {1, 4, 1, 4, 3}, {2, 2, 3, 2, 1}};
        for (int[] c : cases) {
            RopeKernels.Tables rope = RopeKernels.Tables.of(c[3], 500, 9);
            for (RopeKernels.Tables r : new RopeKernels.Tables[] {null, rope}) {
                GradCheck.Result res = GradCheck.check(v -> Heads.split(v[0], r, 5, c[4]),
                        TestData.randn64(rng, c[0], c[1], c[2], c[3]));
                assertTrue(res.passed(), res.toString());
            }
        }
    }

    @Test
    void mergeGradcheck() {
        GradCheck.Result res = GradCheck.check(v -> Heads.merge(v[0]), TestData.randn64(rng, 2, 3, 5, 4));
        assertTrue(res.passed(), res.toString());
    }
}
