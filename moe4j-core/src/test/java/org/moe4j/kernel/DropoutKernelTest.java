package org.moe4j.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class DropoutKernelTest {
    @Test
    void maskDependsOnlyOnTheSeedAndDropsAboutP() {
        int n = 200_003;
        boolean[] a = DropoutKernel.keepMask(n, 0.3, 42);
        assertArrayEquals(a, DropoutKernel.keepMask(n, 0.3, 42));
        assertFalse(Arrays.equals(a, DropoutKernel.keepMask(n, 0.3, 43)));
        int kept = 0;
        for (boolean k : a) kept += k ? 1 : 0;
        // Binomial sd is sqrt(n p (1-p)) ~ 205; allow 6 sd.
        assertEquals(0.7 * n, kept, 1300);
        boolean[] none = DropoutKernel.keepMask(1000, 0, 7);
        for (boolean k : none) assertTrue(k);
    }

    @Test
    void maskMatchesTheRngBernoulliStream() {
        // Element i uses the (i+1)-th SplitMix64 output of the seed: the stream common.Rng produces.
        Rng rng = new Rng(99);
        boolean[] keep = DropoutKernel.keepMask(500, 0.4, 99);
        for (int i = 0; i < keep.length; i++) assertEquals(!rng.bernoulli(0.4), keep[i], "element " + i);
    }

    @Test
    void applyFastMatchesReference() {
        Rng rng = new Rng(3);
        for (int n : new int[] {1, 15, 16, 37, 1000}) {
            Tensor x = TestData.randn(rng, n);
            boolean[] keep = DropoutKernel.keepMask(n, 0.5, n);
            assertArrayEquals(DropoutKernel.applyReference(x, keep, 2.0).toFloatArray(),
                    DropoutKernel.apply(x, keep, 2.0).toFloatArray());
        }
        Tensor strided = TestData.randn(rng, 9, 7).transpose(0, 1);
        boolean[] keep = DropoutKernel.keepMask(63, 0.25, 5);
        assertArrayEquals(DropoutKernel.applyReference(strided, keep, 1 / 0.75).toFloatArray(),
                DropoutKernel.apply(strided, keep, 1 / 0.75).toFloatArray());
    }

    @Test
    void misuseIsRejected() {
        var p = assertThrows(Moe4jException.class, () -> DropoutKernel.keepMask(3, 1.0, 1));
        assertTrue(p.getMessage().startsWith("dropout:"), p.getMessage());
        assertThrows(Moe4jException.class, () -> DropoutKernel.keepMask(3, Double.NaN, 1));
        var len = assertThrows(Moe4jException.class, () -> DropoutKernel.apply(Tensor.zeros(4), new boolean[3], 1));
        assertTrue(len.getMessage().startsWith("dropout:"), len.getMessage());
    }
}
