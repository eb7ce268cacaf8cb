package org.moe4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.moe4j.autograd.GradMode;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Rng;
import org.moe4j.kernel.Parallel;
import org.moe4j.moe.RoutingContext;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;
import org.moe4j.testing.TestData;

/**
 * The inference kernels (DotGemm for every projection, the router and the experts; the cached attention) compute
 * each token's row the same way whatever else is in the call: prefilling m tokens at once gives the same logits,
 * bit for bit, as feeding them one at a time, for any thread count.
 */
public class InferenceInvarianceTest {
    @Test
    void prefillOfManyTokensEqualsOneTokenAtATimeBitForBit() {
        // Widths past one vector (and not multiples of it) so the tiles, tails and the lane tree all run.
        TransformerConfig c = TransformerConfig.tiny().withVocab(41).withDModel(72).withAttention(4, 2, 18)
                .withMoe(4, 2, 100);
        TransformerLm model = new TransformerLm(c, new Rng(5));
        Rng rng = new Rng(6);
        int[] seq = new int[9];
        for (int i = 0; i < seq.length; i++) seq[i] = rng.nextInt(c.vocab());
        assertPrefillEqualsStepsBitForBit(model, seq);
    }

    @Test
    void aMoeLayersTokenGetsTheSameBitsAloneAsAmongSeven() {
        TransformerConfig c = TransformerConfig.small().withDModel(80).withAttention(4, 4, 20).withMoe(8, 2, 136);
        TransformerLm model = new TransformerLm(c, new Rng(7));
        var moe = model.blocks().get(0).moe();
        Tensor x = TestData.randn(new Rng(8), 7, c.dModel());
        try (GradMode off = GradMode.off()) {
            float[] seven = moe.forward(Variable.constant(x), RoutingContext.inference("t")).output().value()
                    .toFloatArray();
            for (int i = 0; i < 7; i++) {
                float[] one = moe.forward(Variable.constant(x.narrow(0, i, 1)), RoutingContext.inference("t")).output()
                        .value().toFloatArray();
                assertArrayEquals(Arrays.copyOfRange(seven, i * c.dModel(), (i + 1) * c.dModel()), one, 0f, "row " + i);
            }
        }
    }

    /**
     * Prefilling {@code seq} at once gives the same logits, bit for bit, as feeding it one token at a time, and the
     * same for 1, 2 and 3 threads. Shared with the quantized (GGUF) model's test.
     */
    public static void assertPrefillEqualsStepsBitForBit(TransformerLm model, int[] seq) {
        int before = Parallel.threads();
        try {
            float[] reference = null;
            for (int threads : new int[] {1, 2, 3}) {
                Parallel.setThreads(threads);
                Tensor together = model.forwardIncremental(IntTensor.of(seq), model.newCache()).logits().value();
                KvCache stepCache = model.newCache();
                for (int i = 0; i < seq.length; i++) {
                    Tensor step = model.forwardIncremental(IntTensor.of(seq[i]), stepCache).logits().value();
                    assertArrayEquals(together.narrow(1, i, 1).toFloatArray(), step.toFloatArray(), 0f,
                            "position " + i + " with " + threads + " threads");
                }
                if (reference == null) reference = together.toFloatArray();
                assertArrayEquals(reference, together.toFloatArray(), 0f, "thread count " + threads);
            }
        } finally {
            Parallel.setThreads(before);
        }
    }
}
