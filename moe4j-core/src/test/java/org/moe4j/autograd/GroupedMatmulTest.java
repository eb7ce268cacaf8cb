package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.moe4j.common.Rng;
import org.moe4j.common.ShapeException;
import org.moe4j.kernel.GroupedGemm;
import org.moe4j.kernel.Parallel;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

class GroupedMatmulTest {
    /** The definition: each row times the transposed weight of its group, one row at a time. */
    private static Tensor naive(Tensor x, Tensor w, int[] offsets) {
        int out = w.dim(1), in = w.dim(2);
        Tensor y = Tensor.zeros(x.dim(0), out);
        for (int g = 0; g + 1 < offsets.length; g++) {
            for (int r = offsets[g]; r < offsets[g + 1]; r++) {
                for (int o = 0; o < out; o++) {
                    double s = 0;
                    for (int i = 0; i < in; i++) s += x.getDouble(r, i) * w.getDouble(g, o, i);
                    y.set(s, r, o);
                }
            }
        }
        return y;
    }

    @Test
    void forwardMatchesThePerRowDefinitionIncludingEmptyGroups() {
        Rng rng = new Rng(11);
        int[][] layouts = {{0, 3, 3, 10, 17}, {0, 0, 0, 0, 1}, {0, 200, 300, 301, 700}};
        for (int[] offsets : layouts) {
            int rows = offsets[offsets.length - 1];
            Tensor x = TestData.randn(rng, rows, 19);
            Tensor w = TestData.randn(rng, offsets.length - 1, 21, 19);
            TestData.assertClose(naive(x, w, offsets), GroupedGemm.forward(x, w, offsets), 1e-4, 1e-4);
        }
    }

    @Test
    void gradcheckOfGroupedMatmulAndBias() {
        Rng rng = new Rng(12);
        int[] offsets = {0, 2, 2, 5};
        Tensor x = TestData.randn64(rng, 5, 3);
        Tensor w = TestData.randn64(rng, 3, 4, 3);
        Tensor b = TestData.randn64(rng, 3, 4);
        GradCheck.Result r = GradCheck.check(v -> GroupedMatmul.addBias(GroupedMatmul.apply(v[0], v[1], offsets), v[2],
                offsets), x, w, b);
        assertTrue(r.passed(), r.toString());
    }

    @Test
    void f32BackwardAgreesWithF64() {
        Rng rng = new Rng(13);
        int[] offsets = {0, 40, 41, 90};
        Tensor x = TestData.randn(rng, 90, 33), w = TestData.randn(rng, 3, 17, 33), dy = TestData.randn(rng, 90, 17);
        Tensor x64 = x.to(DType.F64), w64 = w.to(DType.F64), dy64 = dy.to(DType.F64);
        TestData.assertClose(GroupedGemm.backwardInput(dy64, w64, offsets), GroupedGemm.backwardInput(dy, w, offsets),
                1e-3, 1e-4);
        TestData.assertClose(GroupedGemm.backwardWeight(dy64, x64, offsets), GroupedGemm.backwardWeight(dy, x, offsets),
                1e-3, 1e-4);
    }

    @Test
    void badOffsetsAreRejected() {
        Tensor x = Tensor.zeros(4, 2), w = Tensor.zeros(2, 3, 2);
        assertThrows(ShapeException.class, () -> GroupedGemm.forward(x, w, new int[] {0, 3, 2}));
        assertThrows(ShapeException.class, () -> GroupedGemm.forward(x, w, new int[] {0, 4}));
        assertThrows(ShapeException.class, () -> GroupedGemm.forward(x, Tensor.zeros(2, 3, 5), new int[] {0, 2, 4}));
    }

    @Test
    void resultsDoNotDependOnTheThreadCountWhenGroupsAreCutAcrossThreads() {
        int saved = Parallel.threads();
        try {
            Rng rng = new Rng(14);
            // big groups cut between threads, small ones kept whole, an empty one, and one group only
            int[][] layouts = {{0, 300, 301, 301, 700}, {0, 130, 260, 390, 520}, {0, 999}, {0, 70, 140}};
            for (int[] offsets : layouts) {
                int rows = offsets[offsets.length - 1], groups = offsets.length - 1;
                Tensor x = TestData.randn(rng, rows, 40), w = TestData.randn(rng, groups, 36, 40);
                Tensor dy = TestData.randn(rng, rows, 36);
                Tensor[][] byThreads = new Tensor[4][];
                for (int t = 1; t <= 3; t++) {
                    Parallel.setThreads(t);
                    byThreads[t] = new Tensor[] {GroupedGemm.forward(x, w, offsets),
                            GroupedGemm.backwardInput(dy, w, offsets), GroupedGemm.backwardWeight(dy, x, offsets)};
                }
                for (int t = 2; t <= 3; t++) {
                    for (int i = 0; i < 3; i++) {
                        assertArrayEquals(byThreads[1][i].toFloatArray(), byThreads[t][i].toFloatArray(),
                                "output " + i + " with " + t + " threads, offsets " + java.util.Arrays.toString(offsets));
                    }
                }
                TestData.assertClose(naive(x, w, offsets), byThreads[2][0], 1e-4, 1e-4);
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void gradcheckOfSwigluExpertsWithAnEmptyGroup() {
        Rng rng = new Rng(15);
        int[] offsets = {0, 3, 3, 7};
        Tensor x = TestData.randn64(rng, 7, 5);
        Tensor gw = TestData.randn64(rng, 3, 6, 5), uw = TestData.randn64(rng, 3, 6, 5), dw = TestData.randn64(rng, 3, 4, 6);
        GradCheck.Result r = GradCheck.check(v -> GroupedMatmul.swigluExperts(v[0], v[1], v[2], v[3], offsets), x, gw, uw,
                dw);
        assertTrue(r.passed(), r.toString());
    }

    /** The fused op gives the composed ops' value and every gradient bit for bit (hidden within one depth block). */
    @Test
    void swigluExpertsEqualTheComposedOpsBitForBit() {
        Rng rng = new Rng(16);
        int[] offsets = {0, 130, 131, 131, 300};
        Tensor x = TestData.randn(rng, 300, 37), seed = TestData.randn(rng, 300, 29);
        Tensor gw = TestData.randn(rng, 4, 53, 37), uw = TestData.randn(rng, 4, 53, 37), dw = TestData.randn(rng, 4, 29, 53);
        Variable[] fused = {Variable.parameter(x), Variable.parameter(gw), Variable.parameter(uw), Variable.parameter(dw)};
        Variable y = GroupedMatmul.swigluExperts(fused[0], fused[1], fused[2], fused[3], offsets);
        assertEquals("swigluExperts", y.op());
        y.backward(seed);
        Variable[] composed = {Variable.parameter(x), Variable.parameter(gw), Variable.parameter(uw), Variable.parameter(dw)};
        Variable h = Glu.swiglu(GroupedMatmul.apply(composed[0], composed[1], offsets),
                GroupedMatmul.apply(composed[0], composed[2], offsets));
        Variable z = GroupedMatmul.apply(h, composed[3], offsets);
        z.backward(seed);
        assertArrayEquals(z.value().toFloatArray(), y.value().toFloatArray());
        String[] names = {"x", "gate", "up", "down"};
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(composed[i].grad().toFloatArray(), fused[i].grad().toFloatArray(), names[i]);
        }
    }

    @Test
    void swigluExpertsNameThemselvesWhenWeightsDisagree() {
        Variable x = Variable.parameter(Tensor.zeros(4, 3));
        ShapeException e = assertThrows(ShapeException.class, () -> GroupedMatmul.swigluExperts(x,
                Variable.parameter(Tensor.zeros(2, 5, 3)), Variable.parameter(Tensor.zeros(2, 6, 3)),
                Variable.parameter(Tensor.zeros(2, 3, 5)), new int[] {0, 2, 4}));
        assertTrue(e.getMessage().contains("swigluExperts"), e.getMessage());
    }

    @Test
    void swigluExpertsWithoutAGradientAreTheInferenceComposition() {
        Rng rng = new Rng(17);
        int[] offsets = {0, 2, 5};
        Variable x = Variable.constant(TestData.randn(rng, 5, 8));
        Variable gw = Variable.parameter(TestData.randn(rng, 2, 12, 8)), uw = Variable.parameter(TestData.randn(rng, 2, 12, 8));
        Variable dw = Variable.parameter(TestData.randn(rng, 2, 8, 12));
        try (GradMode scope = GradMode.off()) {
            Variable y = GroupedMatmul.swigluExperts(x, gw, uw, dw, offsets);
            Variable z = GroupedMatmul.apply(Glu.swiglu(GroupedMatmul.apply(x, gw, offsets),
                    GroupedMatmul.apply(x, uw, offsets)), dw, offsets);
            assertEquals("groupedMatmul", y.op());
            assertArrayEquals(z.value().toFloatArray(), y.value().toFloatArray());
        }
    }

    @Test
    void backwardRejectsGradientsThatDoNotMatchTheOffsets() {
        int[] offsets = {0, 2, 4};
        Tensor w = Tensor.zeros(2, 3, 5);
        ShapeException e = assertThrows(ShapeException.class,
                () -> GroupedGemm.backwardInput(Tensor.zeros(5, 3), w, offsets));
        assertTrue(e.getMessage().contains("groupedGemm backward"), e.getMessage());
        assertThrows(ShapeException.class, () -> GroupedGemm.backwardInput(Tensor.zeros(4, 3), w, new int[] {0, 4}));
        assertThrows(ShapeException.class,
                () -> GroupedGemm.backwardWeight(Tensor.zeros(4, 3), Tensor.zeros(3, 5), offsets));
    }
}
