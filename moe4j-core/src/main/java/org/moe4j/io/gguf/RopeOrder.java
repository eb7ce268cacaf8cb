package org.moe4j.io.gguf;

import java.lang.foreign.MemorySegment;
import org.moe4j.tensor.QuantizedTensor;
import org.moe4j.tensor.Tensor;

/**
 * The row order of Q and K projections in llama.cpp's "normal" rotary layout. Hugging Face (and moe4j) rotate value
 * i of a head with value i + D/2; llama.cpp's llama and deepseek rotate adjacent values 2i and 2i + 1, so its
 * converter stores row {@code s * D/2 + i} of each head as row {@code 2i + s}. The permutation acts on the outermost
 * axis (rows of a weight, entries of a bias).
 */
final class RopeOrder {
    private RopeOrder() {}

    /** Hugging Face order to llama.cpp's interleaved order. */
    static Tensor toInterleaved(Tensor t, int heads, int headDim) {
        return permute(t, heads, headDim, true);
    }

    /** llama.cpp's interleaved order back to Hugging Face order. */
    static Tensor fromInterleaved(Tensor t, int heads, int headDim) {
        return permute(t, heads, headDim, false);
    }

    /** llama.cpp's interleaved row order back to Hugging Face order, for a quantized matrix (whole rows move). */
    static QuantizedTensor fromInterleaved(QuantizedTensor t, int heads, int headDim) {
        if (t.rows() != heads * headDim) {
            throw new IllegalStateException("rope order: " + t.rows() + " rows are not " + heads + " heads of " + headDim);
        }
        long rb = t.rowBytes();
        MemorySegment out = MemorySegment.ofArray(new byte[Math.toIntExact(t.data().byteSize())]);
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int s = 0; s < 2; s++) {
                    long from = h * headDim + 2 * i + s, to = h * headDim + s * half + i;
                    MemorySegment.copy(t.data(), from * rb, out, to * rb, rb);
                }
            }
        }
        return new QuantizedTensor(t.format(), t.rows(), t.cols(), out);
    }

    private static Tensor permute(Tensor t, int heads, int headDim, boolean interleave) {
        int[] shape = t.shape();
        int rows = shape[0];
        if (rows != heads * headDim) {
            throw new IllegalStateException("rope order: " + rows + " rows are not " + heads + " heads of " + headDim);
        }
        int cols = rows == 0 ? 0 : (int) (t.numel() / rows);
        float[] in = t.contiguous().toFloatArray();
        float[] out = new float[in.length];
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int s = 0; s < 2; s++) {
                    int hf = h * headDim + s * half + i;
                    int gg = h * headDim + 2 * i + s;
                    int from = interleave ? hf : gg, to = interleave ? gg : hf;
                    System.arraycopy(in, from * cols, out, to * cols, cols);
                }
            }
        }
        return Tensor.of(out, shape);
    }
}
