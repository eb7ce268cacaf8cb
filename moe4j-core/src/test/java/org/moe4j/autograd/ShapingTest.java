package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class ShapingTest {
    private final Rng rng = new Rng(51);

    private static void assertGradients(Function<Variable[], Variable> f, Tensor... inputs) {
        GradCheck.Result r = GradCheck.check(f, inputs);
        assertTrue(r.passed(), r.toString());
    }

    @Test
    void viewOpsPassGradcheck() {
        Tensor x = TestData.randn64(rng, 3, 5, 7);
        assertGradients(v -> Shaping.reshape(v[0], 7, -1), x);
        assertGradients(v -> Shaping.reshape(Shaping.permute(v[0], 2, 0, 1), 5, 21), x); // reshape that copies
        assertGradients(v -> Shaping.flatten(v[0], 1, 2), x);
        assertGradients(v -> Shaping.flatten(v[0]), x);
        assertGradients(v -> Shaping.permute(v[0], 2, 0, 1), x);
        assertGradients(v -> Shaping.transpose(v[0], 0, -1), x);
        assertGradients(v -> Shaping.narrow(v[0], 2, 2, 4), x);
        assertGradients(v -> Shaping.slice(v[0], 2, -6, 7, 3), x);
        assertGradients(v -> Shaping.contiguous(Shaping.transpose(v[0], 0, 1)), x);
        assertGradients(v -> Shaping.squeeze(Shaping.unsqueeze(v[0], 1), 1), x);
        assertGradients(v -> Shaping.unsqueeze(v[0], -1), x);
    }

    @Test
    void expandSumsTheGradientOverRepeatedAxes() {
        assertGradients(v -> Shaping.expand(v[0], 2, 3, 4, 17), TestData.randn64(rng, 3, 1, 17));
        assertGradients(v -> Shaping.expand(v[0], 5, 19), TestData.randn64(rng, 19));

        Variable x = Variable.parameter(Tensor.of(new float[] {1, 2}, 2, 1));
        Variable y = Shaping.expand(x, 3, 2, 4);
        y.backward(Tensor.full(1f, 3, 2, 4));
        assertArrayEquals(new float[] {12, 12}, x.grad().toFloatArray());
    }

    @Test
    void joiningOpsPassGradcheck() {
        Tensor a = TestData.randn64(rng, 3, 5);
        Tensor b = TestData.randn64(rng, 3, 17);
        Tensor c = TestData.randn64(rng, 3, 1);
        assertGradients(v -> Shaping.concat(1, v[0], v[1], v[2]), a, b, c);
        assertGradients(v -> Shaping.concat(0, v[0], v[0]), a); // a variable used twice gets both slices
        assertGradients(v -> Shaping.stack(1, v[0], v[1]), a, TestData.randn64(rng, 3, 5));
        assertGradients(v -> {
            Variable[] p = Shaping.split(v[0], 1, 4, 9, 0, 4);
            return Shaping.concat(1, p[2], p[3], p[0], p[1]); // reordered, so each piece's gradient must land right
        }, TestData.randn64(rng, 2, 17));
    }

    @Test
    void splitUndoesConcat() {
        Variable a = Variable.constant(TestData.randn(rng, 4, 3));
        Variable b = Variable.constant(TestData.randn(rng, 4, 18));
        Variable[] pieces = Shaping.split(Shaping.concat(-1, a, b), -1, 3, 18);
        assertEquals(2, pieces.length);
        assertArrayEquals(a.value().toFloatArray(), pieces[0].value().toFloatArray());
        assertArrayEquals(b.value().toFloatArray(), pieces[1].value().toFloatArray());
    }

    @Test
    void viewOpsShareStorageWithTheirInput() {
        Variable x = Variable.parameter(TestData.randn(rng, 4, 6));
        assertSame(x.value().storage(), Shaping.reshape(x, 2, 12).value().storage());
        assertSame(x.value().storage(), Shaping.transpose(x, 0, 1).value().storage());
        assertSame(x.value().storage(), Shaping.narrow(x, 1, 1, 3).value().storage());
        assertSame(x, Shaping.contiguous(x));
        Variable n = Shaping.narrow(x, 1, 2, 3);
        n.backward(Tensor.full(1f, 4, 3));
        float[] g = x.grad().toFloatArray();
        for (int i = 0; i < 24; i++) assertEquals(i % 6 >= 2 && i % 6 < 5 ? 1f : 0f, g[i], "element " + i);
    }

    @Test
    void misuseNamesTheOp() {
        Variable x = Variable.parameter(Tensor.zeros(2, 5));
        var split = assertThrows(ShapeException.class, () -> Shaping.split(x, 1, 2, 2));
        assertTrue(split.getMessage().startsWith("split:") && split.getMessage().contains("add up to 4"),
                split.getMessage());
        var concat = assertThrows(ShapeException.class,
                () -> Shaping.concat(0, x, Variable.constant(Tensor.zeros(2, 4))));
        assertTrue(concat.getMessage().startsWith("concat:"), concat.getMessage());
        var stack = assertThrows(ShapeException.class, () -> Shaping.stack(0));
        assertTrue(stack.getMessage().startsWith("stack:"), stack.getMessage());
        var flatten = assertThrows(ShapeException.class, () -> Shaping.flatten(x, 1, 0));
        assertTrue(flatten.getMessage().startsWith("flatten:"), flatten.getMessage());
        var squeeze = assertThrows(ShapeException.class, () -> Shaping.squeeze(x, 0));
        assertTrue(squeeze.getMessage().startsWith("squeeze:"), squeeze.getMessage());
        var axis = assertThrows(ShapeException.class, () -> Shaping.narrow(x, 3, 0, 1));
        assertTrue(axis.getMessage().startsWith("narrow:"), axis.getMessage());
    }
}
