package org.moe4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.GoldenFixtures;

/**
 * Our ops against values PyTorch computed in float64 ({@code tools/golden/make_op_fixtures.py}): gradchecks only
 * prove that a backward matches its own forward, these prove that the forward means what PyTorch means (padding,
 * rounding of output sizes, causal offset, mask broadcasting, ignore index, biased variance, eps placement, exact
 * versus tanh GELU, ...). Each case runs forward, then backward with the fixture's upstream gradient, and
 * compares the output and every input gradient. F64 runs the scalar reference kernels and must agree to 1e-9;
 * F32 (inputs rounded to float, the Vector API fast paths where they exist) must agree to
 * {@code |expected - actual| <= 1e-5 + 1e-4 |expected|}; the worst case uses about 3% of that (conv2d grad_w).
 */
class GoldenOpsTest {
    private static final GoldenFixtures GOLDEN = GoldenFixtures.ops();

    // ---- convolution and pooling -----------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(DType.class)
    void conv2dStride2Pad1MatchesPyTorch(DType dtype) {
        Variable x = input("conv2d.x", dtype);
        Variable w = input("conv2d.w", dtype);
        Variable b = input("conv2d.b", dtype);
        Variable y = Convolution.conv2d(x, w, b, 2, 1);
        expect("conv2d.y", y.value(), dtype);
        y.backward(GOLDEN.tensor("conv2d.upstream", dtype));
        expect("conv2d.grad_x", x.grad(), dtype);
        expect("conv2d.grad_w", w.grad(), dtype);
        expect("conv2d.grad_b", b.grad(), dtype);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void maxPool2x2Stride2MatchesPyTorch(DType dtype) {
        Variable x = input("maxpool.x", dtype);
        Variable y = Convolution.maxPool2d(x, 2, 2, 0);
        expect("maxpool.y", y.value(), dtype);
        y.backward(GOLDEN.tensor("maxpool.upstream", dtype));
        expect("maxpool.grad_x", x.grad(), dtype);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void avgPool3x3Stride2Pad1CountingPaddingMatchesPyTorch(DType dtype) {
        Variable x = input("avgpool.x", dtype);
        Variable y = Convolution.avgPool2d(x, 3, 2, 1);
        expect("avgpool.y", y.value(), dtype);
        y.backward(GOLDEN.tensor("avgpool.upstream", dtype));
        expect("avgpool.grad_x", x.grad(), dtype);
    }

    // ---- attention -------------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(DType.class)
    void causalAttentionWithShortQueryBlockAndAdditiveMaskMatchesPyTorch(DType dtype) {
        Variable q = input("attention.q", dtype);
        Variable k = input("attention.k", dtype);
        Variable v = input("attention.v", dtype);
        Variable mask = Variable.constant(GOLDEN.tensor("attention.mask", dtype)); // [B, 1, T, S], broadcast over heads
        Variable y = Attention.scaledDotProductAttention(q, k, v, mask, true);
        expect("attention.y", y.value(), dtype);
        y.backward(GOLDEN.tensor("attention.upstream", dtype));
        expect("attention.grad_q", q.grad(), dtype);
        expect("attention.grad_k", k.grad(), dtype);
        expect("attention.grad_v", v.grad(), dtype);
    }

    // ---- softmax family and losses ---------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(DType.class)
    void softmaxOverLastAxisMatchesPyTorch(DType dtype) {
        Variable x = input("softmax.x", dtype);
        Variable y = Losses.softmax(x, -1);
        expect("softmax.y", y.value(), dtype);
        y.backward(GOLDEN.tensor("softmax.upstream", dtype));
        expect("softmax.grad_x", x.grad(), dtype);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void logSoftmaxOverMiddleAxisMatchesPyTorch(DType dtype) {
        Variable x = input("logsoftmax.x", dtype);
        Variable y = Losses.logSoftmax(x, 1);
        expect("logsoftmax.y", y.value(), dtype);
        y.backward(GOLDEN.tensor("logsoftmax.upstream", dtype));
        expect("logsoftmax.grad_x", x.grad(), dtype);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void crossEntropyWithIgnoredTargetMatchesPyTorch(DType dtype) {
        Variable logits = input("crossentropy.logits", dtype);
        Variable loss = Losses.crossEntropy(logits, GOLDEN.ints("crossentropy.targets")); // ignore index -100
        expect("crossentropy.loss", loss.value(), dtype);
        loss.backward();
        expect("crossentropy.grad_logits", logits.grad(), dtype);
    }

    // ---- normalization ---------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(DType.class)
    void layerNormWithWeightAndBiasMatchesPyTorch(DType dtype) {
        Variable x = input("layernorm.x", dtype);
        Variable w = input("layernorm.w", dtype);
        Variable b = input("layernorm.b", dtype);
        Variable y = Normalization.layerNorm(x, w, b, 1e-5);
        expect("layernorm.y", y.value(), dtype);
        y.backward(GOLDEN.tensor("layernorm.upstream", dtype));
        expect("layernorm.grad_x", x.grad(), dtype);
        expect("layernorm.grad_w", w.grad(), dtype);
        expect("layernorm.grad_b", b.grad(), dtype);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void rmsNormAsLlamaDefinesItMatchesPyTorch(DType dtype) {
        Variable x = input("rmsnorm.x", dtype);
        Variable w = input("rmsnorm.w", dtype);
        Variable y = Normalization.rmsNorm(x, w, 1e-6);
        expect("rmsnorm.y", y.value(), dtype);
        y.backward(GOLDEN.tensor("rmsnorm.upstream", dtype));
        expect("rmsnorm.grad_x", x.grad(), dtype);
        expect("rmsnorm.grad_w", w.grad(), dtype);
    }

    // ---- activations -----------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(DType.class)
    void geluExactMatchesPyTorch(DType dtype) {
        unaryCase("gelu_erf", Activations::gelu, dtype);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void geluTanhMatchesPyTorch(DType dtype) {
        unaryCase("gelu_tanh", Activations::geluTanh, dtype);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void siluMatchesPyTorch(DType dtype) {
        unaryCase("silu", Activations::silu, dtype);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void softplusMatchesPyTorch(DType dtype) {
        unaryCase("softplus", Activations::softplus, dtype);
    }

    private static void unaryCase(String c, UnaryOperator<Variable> op, DType dtype) {
        Variable x = input(c + ".x", dtype);
        Variable y = op.apply(x);
        expect(c + ".y", y.value(), dtype);
        y.backward(GOLDEN.tensor(c + ".upstream", dtype));
        expect(c + ".grad_x", x.grad(), dtype);
    }

    // ---- the fixture reader ----------------------------------------------------------------------------------

    @Test
    void missingFixtureNamesItselfAndWhatTheCaseHas() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GOLDEN.tensor("conv2d.nope", DType.F32));
        assertTrue(e.getMessage().contains("conv2d.nope") && e.getMessage().contains("conv2d.grad_w"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GOLDEN.ints("conv2d.x"));
    }

    @Test
    void readerKeepsShapesDtypesAndFullPrecision() {
        Tensor x64 = GOLDEN.tensor("conv2d.x", DType.F64);
        Tensor x32 = GOLDEN.tensor("conv2d.x", DType.F32);
        assertEquals(Arrays.toString(new int[] {2, 3, 9, 7}), Arrays.toString(x64.shape()));
        assertEquals(DType.F32, x32.dtype());
        // The file holds float64 reprs: the F64 tensor must carry digits a float cannot.
        double[] d = x64.toDoubleArray();
        assertTrue(Arrays.stream(d).anyMatch(v -> (double) (float) v != v), "values look rounded to float");
        assertEquals(0, GOLDEN.tensor("crossentropy.loss", DType.F64).rank());
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private static Variable input(String name, DType dtype) {
        return Variable.parameter(GOLDEN.tensor(name, dtype));
    }

    /** Compares with the fixture {@code name}, failing with the fixture, dtype, index and both values. */
    private static void expect(String name, Tensor actual, DType dtype) {
        Tensor expected = GOLDEN.tensor(name, DType.F64);
        if (actual == null) fail(name + " (" + dtype + "): no gradient was computed");
        assertEquals(dtype, actual.dtype(), name + ": dtype");
        if (!expected.sameShape(actual)) {
            fail(name + " (" + dtype + "): shape " + Arrays.toString(actual.shape()) + ", expected "
                    + Arrays.toString(expected.shape()));
        }
        double atol = dtype == DType.F64 ? 1e-9 : 1e-5;
        double rtol = dtype == DType.F64 ? 1e-9 : 1e-4;
        double[] e = expected.toDoubleArray();
        double[] a = actual.toDoubleArray();
        for (int i = 0; i < e.length; i++) {
            if (!(Math.abs(e[i] - a[i]) <= atol + rtol * Math.abs(e[i]))) {
                fail(name + " (" + dtype + ") element " + i + " of " + Arrays.toString(expected.shape())
                        + ": PyTorch " + e[i] + ", ours " + a[i] + " (atol " + atol + ", rtol " + rtol + ")");
            }
        }
    }
}
