package org.moe4j.autograd;

import org.moe4j.kernel.Reduce;
import org.moe4j.kernel.Gathering;
import org.moe4j.kernel.Masking;
import org.moe4j.kernel.TopK;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Tensor;

/**
 * Index ops: embedding lookups, gather/scatter-add, index-select/index-add, top-k and mask selection. Each
 * backward is the adjoint index kernel (gather's is scatter-add, index-select's is index-add, and so on).
 * Indices are {@link IntTensor}s and take no gradient.
 *
 * <p>Masks are {@link IntTensor}s: nonzero means true, and they broadcast like tensors.
 */
public final class Indexing {
    private Indexing() {}

    /** The k largest values along an axis (descending; ties to the lower index) and their indices. */
    public record TopKResult(Variable values, IntTensor indices) {}

    /** Rows of {@code weight} ([vocab, dim]) for each id: shape {@code ids.shape() + [dim]}. */
    public static Variable embedding(Variable weight, IntTensor ids) {
        int vocab = weight.rank() == 2 ? weight.dim(0) : 0;
        Tensor y = Gathering.embedding(weight.value(), ids);
        return Variable.result("embedding", y, g -> new Tensor[] {Gathering.embeddingBackward(g, ids, vocab)}, weight);
    }

    /** {@code out[.., j, ..] = x[.., index[.., j, ..], ..]} along {@code axis}; index matches x on other axes. */
    public static Variable gather(Variable x, int axis, IntTensor index) {
        Tensor xv = x.value();
        Tensor y = Gathering.gather(xv, axis, index);
        return Variable.result("gather", y,
                g -> new Tensor[] {Gathering.scatterAdd(g.newZeros(xv.shape()), axis, index, g)}, x);
    }

    /** {@code x} plus {@code src} added where {@code index} points along {@code axis}; src has index's shape. */
    public static Variable scatterAdd(Variable x, int axis, IntTensor index, Variable src) {
        Tensor y = Gathering.scatterAdd(x.value(), axis, index, src.value());
        return Variable.result("scatterAdd", y, g -> new Tensor[] {g, Gathering.gather(g, axis, index)}, x, src);
    }

    /** Slices {@code index[0], index[1], ...} of x along {@code axis}; index is 1-d and may repeat. */
    public static Variable indexSelect(Variable x, int axis, IntTensor index) {
        Tensor xv = x.value();
        Tensor y = Gathering.indexSelect(xv, axis, index);
        return Variable.result("indexSelect", y,
                g -> new Tensor[] {Gathering.indexAdd(g.newZeros(xv.shape()), axis, index, g)}, x);
    }

    /** {@code x} plus slice j of {@code src} added at slice {@code index[j]} along {@code axis}. */
    public static Variable indexAdd(Variable x, int axis, IntTensor index, Variable src) {
        Tensor y = Gathering.indexAdd(x.value(), axis, index, src.value());
        return Variable.result("indexAdd", y, g -> new Tensor[] {g, Gathering.indexSelect(g, axis, index)}, x, src);
    }

    /** The k largest values along {@code axis}; the gradient flows back to the selected positions only. */
    public static TopKResult topK(Variable x, int k, int axis) {
        Tensor xv = x.value();
        TopK.Result r = TopK.topK(xv, k, axis);
        IntTensor idx = r.indices();
        Variable values = Variable.result("topK", r.values(),
                g -> new Tensor[] {Gathering.scatterAdd(g.newZeros(xv.shape()), axis, idx, g)}, x);
        return new TopKResult(values, idx);
    }

    /** {@code mask ? a : b}, all three broadcast together; each gradient is summed back to its input's shape. */
    public static Variable where(IntTensor mask, Variable a, Variable b) {
        int[] aShape = a.shape();
        int[] bShape = b.shape();
        Tensor y = Masking.where(mask, a.value(), b.value());
        return Variable.result("where", y, g -> {
            Tensor zero = Tensor.full(g.dtype(), 0.0);
            return new Tensor[] {
                a.requiresGrad() ? Reduce.sumToShape(Masking.where(mask, g, zero), aShape) : null,
                b.requiresGrad() ? Reduce.sumToShape(Masking.where(mask, zero, g), bShape) : null
            };
        }, a, b);
    }

    /** {@code x} with {@code value} wherever the mask (broadcast to x's shape) is nonzero; those get no gradient. */
    public static Variable maskedFill(Variable x, IntTensor mask, double value) {
        Tensor y = Masking.maskedFill(x.value(), mask, value);
        return Variable.result("maskedFill", y, g -> new Tensor[] {Masking.maskedFill(g, mask, 0.0)}, x);
    }
}
