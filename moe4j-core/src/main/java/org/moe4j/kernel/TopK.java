package org.moe4j.kernel;

import java.util.Arrays;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.IntTensor;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Storage;
import org.moe4j.tensor.Tensor;

/**
 * The k largest elements along an axis, in descending order, with their indices. The order is total and
 * deterministic: larger values first, NaN above every number (so a NaN is never hidden), and equal values
 * (including -0.0 and 0.0) by the lower index first. That tie rule is what lets a router's choice of experts
 * depend only on the scores, never on scan order.
 *
 * <p>The fast path keeps a k-element min-heap per row, so a row costs one comparison per element plus
 * {@code O(log k)} per replacement: k=2 of 64 experts over thousands of tokens is a single pass.
 */
public final class TopK {
    private static final int GRAIN = 1 << 14; // row elements per task

    /** Values (x's dtype) and their indices along the axis, both of x's shape with k on that axis. */
    public record Result(Tensor values, IntTensor indices) {}

    private TopK() {}

    public static Result topK(Tensor x, int k, int axis) {
        int a = check(x, k, axis);
        return Backend.vector() && x.dtype() == DType.F32 ? topKFloat(x.contiguous(), k, a) : topKScalar(x, k, a);
    }

    /** The definition: each row's indices fully sorted by the order above, then the first k kept. */
    static Result topKReference(Tensor x, int k, int axis) {
        return topKScalar(x, k, check(x, k, axis));
    }

    private static int check(Tensor x, int k, int axis) {
        if (x.rank() == 0) throw ShapeException.of("topK", "needs at least one axis", x.shape());
        int a = Shapes.axis("topK", axis, x.rank());
        int n = x.dim(a);
        if (k < 1 || k > n) {
            throw ShapeException.of("topK", "k=" + k + " must be between 1 and the axis size " + n + " (axis " + a + ")",
                    x.shape());
        }
        return a;
    }

    /** True when value {@code va} at index {@code ia} ranks above {@code vb} at {@code ib}. */
    static boolean ranksAbove(double va, int ia, double vb, int ib) {
        boolean nanA = Double.isNaN(va);
        boolean nanB = Double.isNaN(vb);
        if (nanA || nanB) return nanA && (!nanB || ia < ib);
        return va > vb || (va == vb && ia < ib);
    }

    private static int product(int[] shape, int from, int to) {
        int p = 1;
        for (int d = from; d < to; d++) p *= shape[d];
        return p;
    }

    private static int[] outShape(Tensor x, int k, int a) {
        int[] s = x.shape();
        s[a] = k;
        return s;
    }

    private static Result topKScalar(Tensor x, int k, int a) {
        int[] shape = x.shape();
        int outer = product(shape, 0, a);
        int inner = product(shape, a + 1, shape.length);
        int n = shape[a];
        Tensor xc = x.contiguous();
        Storage xs = xc.storage();
        int xo = xc.offset();
        Tensor values = x.newZeros(outShape(x, k, a));
        Storage vs = values.storage();
        int[] indices = new int[values.numel()];
        Integer[] order = new Integer[n];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = xo + o * n * inner + i;
                for (int j = 0; j < n; j++) order[j] = j;
                Arrays.sort(order, (p, q) -> {
                    double vp = xs.get(base + p * inner);
                    double vq = xs.get(base + q * inner);
                    return ranksAbove(vp, p, vq, q) ? -1 : ranksAbove(vq, q, vp, p) ? 1 : 0;
                });
                for (int j = 0; j < k; j++) {
                    int q = (o * k + j) * inner + i;
                    indices[q] = order[j];
                    vs.set(q, xs.get(base + order[j] * inner));
                }
            }
        }
        return new Result(values, new IntTensor(indices, values.shape()));
    }

    private static Result topKFloat(Tensor x, int k, int a) {
        int[] shape = x.shape();
        int outer = product(shape, 0, a);
        int inner = product(shape, a + 1, shape.length);
        int n = shape[a];
        float[] xa = x.floats();
        int xo = x.offset();
        Tensor values = x.newZeros(outShape(x, k, a));
        float[] va = values.floats();
        int[] indices = new int[values.numel()];
        int rows = outer * inner;
        int stride = inner;
        Parallel.forRange(rows, Math.max(1, GRAIN / n), (from, to) -> {
            float[] heapVal = new float[k];
            int[] heapIdx = new int[k];
            for (int r = from; r < to; r++) {
                int o = r / stride;
                int i = r - o * stride;
                selectRow(xa, xo + o * n * stride + i, stride, n, k, heapVal, heapIdx);
                // The heap holds the k best with the worst on top; pop it from the back to get descending order.
                for (int size = k; size > 0; size--) {
                    int q = (o * k + size - 1) * stride + i;
                    va[q] = heapVal[0];
                    indices[q] = heapIdx[0];
                    heapVal[0] = heapVal[size - 1];
                    heapIdx[0] = heapIdx[size - 1];
                    siftDown(heapVal, heapIdx, size - 1);
                }
            }
        });
        return new Result(values, new IntTensor(indices, values.shape()));
    }

    /** Fills a min-heap (by rank: the worst of the kept elements at the root) with the row's k best. */
    private static void selectRow(float[] xa, int base, int stride, int n, int k, float[] heapVal, int[] heapIdx) {
        for (int j = 0; j < k; j++) {
            heapVal[j] = xa[base + j * stride];
            heapIdx[j] = j;
        }
        for (int j = k / 2 - 1; j >= 0; j--) siftDownFrom(heapVal, heapIdx, k, j);
        for (int j = k; j < n; j++) {
            float v = xa[base + j * stride];
            // A later index never wins a tie, so only a strictly higher value (or a first NaN) enters.
            if (v > heapVal[0] || (v != v && heapVal[0] == heapVal[0])) {
                heapVal[0] = v;
                heapIdx[0] = j;
                siftDown(heapVal, heapIdx, k);
            }
        }
    }

    private static void siftDown(float[] val, int[] idx, int size) {
        siftDownFrom(val, idx, size, 0);
    }

    private static void siftDownFrom(float[] val, int[] idx, int size, int from) {
        int p = from;
        while (true) {
            int worst = p;
            int l = 2 * p + 1;
            int r = l + 1;
            if (l < size && ranksAbove(val[worst], idx[worst], val[l], idx[l])) worst = l;
            if (r < size && ranksAbove(val[worst], idx[worst], val[r], idx[r])) worst = r;
            if (worst == p) return;
            float tv = val[p];
            val[p] = val[worst];
            val[worst] = tv;
            int ti = idx[p];
            idx[p] = idx[worst];
            idx[worst] = ti;
            p = worst;
        }
    }
}
