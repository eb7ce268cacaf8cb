package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class BroadcastSumTest {
    @Test
    void fastMatchesReference() {
        Rng rng = new Rng(41);
        int[][][] cases = { // gradient shape, target shape
            {{5, 37}, {37}}, {{5, 37}, {5, 1}}, {{3, 4, 17}, {1, 4, 1}}, {{3, 4, 17}, {}}, {{2, 3, 33}, {3, 33}},
            {{6, 20}, {1, 1}},
        };
        for (int[][] c : cases) {
            Tensor g = TestData.randn(rng, c[0]);
            TestData.assertClose(BroadcastSum.sumToReference(g, c[1]), BroadcastSum.sumTo(g, c[1]), 1e-5, 1e-5);
        }
        Tensor strided = TestData.randn(rng, 19, 4).transpose(0, 1);
        TestData.assertClose(BroadcastSum.sumToReference(strided, new int[] {19}),
                BroadcastSum.sumTo(strided, new int[] {19}), 1e-5, 1e-5);
    }

    @Test
    void sumsOverTheBroadcastAxes() {
        Tensor g = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertArrayEquals(new float[] {5, 7, 9}, BroadcastSum.sumTo(g, new int[] {3}).toFloatArray());
        assertArrayEquals(new float[] {6, 15}, BroadcastSum.sumTo(g, new int[] {2, 1}).toFloatArray());
        assertArrayEquals(new float[] {21}, BroadcastSum.sumTo(g, new int[] {}).toFloatArray());
        assertSame(g, BroadcastSum.sumTo(g, new int[] {2, 3}));
        var e = assertThrows(ShapeException.class, () -> BroadcastSum.sumTo(g, new int[] {2}));
        assertTrue(e.getMessage().startsWith("broadcastSum:"), e.getMessage());
    }
}
