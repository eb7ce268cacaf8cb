package org.moe4j.io.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.model.InferenceInvarianceTest;
import org.moe4j.model.TransformerConfig;
import org.moe4j.model.TransformerLm;
import org.moe4j.moe.RoutingContext;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.QuantFormat;

/**
 * A quantized GGUF loaded for inference keeps its matrices quantized (a quarter of the float32 bytes for Q8_0),
 * computes the same bits as the same file dequantized, gives a token the same bits alone or in a prefill batch for any
 * thread count, and refuses to train.
 */
class QuantizedInferenceTest {
    @ParameterizedTest
    @EnumSource(GgufArchitecture.class)
    void heldQuantizedComputesTheDequantizedLoadsBits(GgufArchitecture arch, @TempDir Path tmp) {
        TransformerLm model = GgufModelTest.randomModel(arch, 21);
        // F16/BF16 rows are copied out of the mapping, which closes when loading ends (it once failed: "Already closed")
        for (QuantFormat f : new QuantFormat[] {QuantFormat.Q8_0, QuantFormat.Q4_0, QuantFormat.F16, QuantFormat.BF16}) {
            Path file = tmp.resolve(f + ".gguf");
            GgufModel.save(model, arch, null, f, file, GgufModel.Progress.NONE);
            TransformerLm dequantized = GgufModel.load(file).model();
            TransformerLm held = GgufModel.loadForInference(file).model();
            assertFalse(held.namedQuantized().isEmpty(), arch + " " + f);
            assertTrue(dequantized.namedQuantized().isEmpty());
            // Built deferred: a quantized weight never takes float memory, every other weight was given its values.
            held.namedParameters().forEach((name, p) -> assertEquals(held.namedQuantized().containsKey(name),
                    p.value().isPlaceholder(), arch + " " + f + " " + name));
            dequantized.namedParameters().forEach((name, p) -> assertFalse(p.value().isPlaceholder(), name));
            // Each q * d is exact in float32, so the held weights compute DotGemm's definition on the decoded values:
            // the same bits as the dequantized load.
            float[] want = GgufModelTest.logits(dequantized, GgufModelTest.PROMPT).toFloatArray();
            float[] got = GgufModelTest.logits(held, GgufModelTest.PROMPT).toFloatArray();
            assertArrayEquals(want, got, 0f, arch + " " + f);
        }
    }

    @Test
    void q8ModelHoldsAQuarterOfTheFloatBytes(@TempDir Path tmp) {
        TransformerConfig c = TransformerConfig.tiny().withVocab(32).withMaxSeqLen(32);
        TransformerLm model = new TransformerLm(c, new Rng(3));
        Path file = tmp.resolve("m.gguf");
        GgufModel.save(model, GgufArchitecture.LLAMA, null, QuantFormat.Q8_0, file, GgufModel.Progress.NONE);
        TransformerLm held = GgufModel.loadForInference(file).model();
        long f32 = model.weightBytes(), q8 = held.weightBytes();
        // matrices take 34 bytes per 32 values instead of 128; the small embedding and norms stay float32
        assertTrue(q8 < 0.3 * f32, q8 + " bytes held vs " + f32 + " as float32");
        assertTrue(q8 > 0.2 * f32, q8 + " bytes held vs " + f32 + " as float32");
        assertArrayEquals(model.namedParameters().get("layers.0.mlp.experts.up").shape(),
                held.namedParameters().get("layers.0.mlp.experts.up").shape(), "names and shapes stay");
    }

    @Test
    void prefillOfManyTokensEqualsOneAtATimeBitForBit(@TempDir Path tmp) {
        // widths of several 16-row units plus edges, so the butterfly, the panel and the single rows all run
        TransformerConfig c = TransformerConfig.tiny().withVocab(53).withDModel(96).withAttention(4, 2, 24)
                .withMoe(4, 2, 160).withMaxSeqLen(32);
        Path file = tmp.resolve("q8.gguf");
        GgufModel.save(new TransformerLm(c, new Rng(5)), GgufArchitecture.LLAMA, null, QuantFormat.Q8_0, file,
                GgufModel.Progress.NONE);
        TransformerLm model = GgufModel.loadForInference(file).model();
        int[] seq = {3, 17, 52, 0, 9, 41, 8, 30, 12};
        InferenceInvarianceTest.assertPrefillEqualsStepsBitForBit(model, seq);
    }

    @Test
    void trainingAQuantizedModelIsAClearError(@TempDir Path tmp) {
        Path file = tmp.resolve("m.gguf");
        GgufModel.save(GgufModelTest.randomModel(GgufArchitecture.LLAMA, 4), GgufArchitecture.LLAMA, null,
                QuantFormat.Q4_0, file, GgufModel.Progress.NONE);
        TransformerLm held = GgufModel.loadForInference(file).model();
        Moe4jException e = assertThrows(Moe4jException.class, () -> held.forward(
                new IntTensor(GgufModelTest.PROMPT, new int[] {1, GgufModelTest.PROMPT.length}),
                RoutingContext.inference("train")));
        assertTrue(e.getMessage().contains("inference only") && e.getMessage().contains("Q4_0"), e.getMessage());
        Moe4jException save = assertThrows(Moe4jException.class, () -> GgufModel.save(held, GgufArchitecture.LLAMA,
                null, QuantFormat.Q8_0, tmp.resolve("again.gguf"), GgufModel.Progress.NONE));
        assertTrue(save.getMessage().contains("quantized"), save.getMessage());
    }
}
