package org.moe4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.Convolution;
import org.moe4j.autograd.Normalization;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.testing.TestData;

class ConvAndNormModulesTest {
    private final Rng rng = new Rng(4);

    @Test
    void conv2dHasPyTorchLayoutInitAndOutputSize() {
        Conv2d conv = new Conv2d(3, 5, 3, 2, 1, true, rng);
        assertEquals(List.of("weight", "bias"), List.copyOf(conv.namedParameters().keySet()));
        assertArrayEquals(new int[] {5, 3, 3, 3}, conv.weight().shape());
        assertEquals(5 * 3 * 9 + 5, conv.parameterCount());
        double bound = 1 / Math.sqrt(3 * 9);
        for (float w : conv.weight().value().toFloatArray()) assertTrue(Math.abs(w) <= bound, "outside U(-b, b): " + w);
        Variable x = Variable.constant(TestData.randn(rng, 2, 3, 7, 8));
        Variable y = conv.forward(x);
        assertArrayEquals(new int[] {2, 5, conv.outputSize(7), conv.outputSize(8)}, y.shape());
        assertArrayEquals(Convolution.conv2d(x, conv.weight(), conv.bias(), 2, 1).value().toFloatArray(),
                y.value().toFloatArray());
        assertEquals(1, new Conv2d(3, 5, 1, 1, 0, false, rng).namedParameters().size());
        assertThrows(Moe4jException.class, () -> new Conv2d(3, 5, 0, 1, 0, true, rng));
    }

    @Test
    void layerNormStartsAsThePlainNormalisation() {
        LayerNorm norm = new LayerNorm(6);
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1}, norm.weight().value().toFloatArray());
        assertArrayEquals(new float[6], norm.bias().value().toFloatArray());
        Variable x = Variable.constant(TestData.randn(rng, 4, 6));
        assertArrayEquals(Normalization.layerNorm(x, null, null, 1e-5).value().toFloatArray(),
                norm.forward(x).value().toFloatArray());
        assertThrows(Moe4jException.class, () -> new LayerNorm(0));
        assertThrows(Moe4jException.class, () -> new LayerNorm(4, 0));
    }
}
