package org.moe4j.tensor;

import java.util.Arrays;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.ShapeException;

/**
 * An N-dimensional array: a {@link Storage}, an offset into it, a shape and strides (in elements).
 * Views (reshape of a contiguous tensor, permute, transpose, narrow, slice, expand) share the storage;
 * {@link #contiguous()} and {@link #copy()} make new storage. Tensors carry no gradient: that is the autograd
 * layer's {@code Variable}.
 *
 * <p>Writes through one view are visible through every other view of the same storage, as in NumPy.
 */
public final class Tensor {
    private final Storage storage;
    private final int offset;
    private final int[] shape;
    private final int[] strides;
    private final int numel;

    private Tensor(Storage storage, int offset, int[] shape, int[] strides) {
        this.storage = storage;
        this.offset = offset;
        this.shape = shape;
        this.strides = strides;
        this.numel = Shapes.numel(shape);
    }

    /** A tensor over existing storage; the caller guarantees every index lies inside it. */
    public static Tensor view(Storage storage, int offset, int[] shape, int[] strides) {
        if (shape.length != strides.length) throw new Moe4jException("Tensor.view: shape and strides differ in rank");
        return new Tensor(storage, offset, shape.clone(), strides.clone());
    }

    // ---- construction ----------------------------------------------------------------------------------------

    public static Tensor zeros(int... shape) {
        return zeros(DType.F32, shape);
    }

    public static Tensor zeros(DType dtype, int... shape) {
        int[] s = shape.clone();
        return new Tensor(Storage.allocate(dtype, Shapes.numel(s)), 0, s, Shapes.contiguousStrides(s));
    }

    public static Tensor full(float value, int... shape) {
        Tensor t = zeros(shape);
        Arrays.fill(t.floats(), value);
        return t;
    }

    public static Tensor full(DType dtype, double value, int... shape) {
        Tensor t = zeros(dtype, shape);
        for (int i = 0; i < t.numel; i++) t.storage.set(i, value);
        return t;
    }

    /**
     * One zero value seen as {@code shape} (zero strides): a stand-in that holds no memory, for a weight that is
     * loaded later or held elsewhere. {@link #isPlaceholder()} tells it apart.
     */
    public static Tensor placeholder(DType dtype, int... shape) {
        int[] one = new int[shape.length];
        Arrays.fill(one, 1);
        return zeros(dtype, one).expand(shape);
    }

    /** Whether this tensor shows fewer stored values than its elements, as a {@link #placeholder} does. */
    public boolean isPlaceholder() {
        return storage.size() < numel;
    }

    /** A zero tensor with this tensor's dtype and the given shape. */
    public Tensor newZeros(int... shape) {
        return zeros(dtype(), shape);
    }

    /** Wraps (does not copy) a float array. */
    public static Tensor of(float[] data, int... shape) {
        int[] s = shape.clone();
        if (Shapes.numel(s) != data.length) {
            throw ShapeException.of("Tensor.of", data.length + " values do not fill", s);
        }
        return new Tensor(new FloatStorage(data), 0, s, Shapes.contiguousStrides(s));
    }

    /** Wraps (does not copy) a double array as an F64 tensor. */
    public static Tensor ofDoubles(double[] data, int... shape) {
        int[] s = shape.clone();
        if (Shapes.numel(s) != data.length) {
            throw ShapeException.of("Tensor.ofDoubles", data.length + " values do not fill", s);
        }
        return new Tensor(new DoubleStorage(data), 0, s, Shapes.contiguousStrides(s));
    }

    public static Tensor scalar(float value) {
        return of(new float[] {value});
    }

    public static Tensor scalar(DType dtype, double value) {
        return full(dtype, value);
    }

    // ---- metadata --------------------------------------------------------------------------------------------

    public Storage storage() {
        return storage;
    }

    public DType dtype() {
        return storage.dtype();
    }

    public int offset() {
        return offset;
    }

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    /** A copy of the strides, in elements. */
    public int[] strides() {
        return strides.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** The size of one axis; negative axes count from the end. */
    public int dim(int axis) {
        return shape[Shapes.axis("dim", axis, shape.length)];
    }

    public int stride(int axis) {
        return strides[Shapes.axis("stride", axis, shape.length)];
    }

    public int numel() {
        return numel;
    }

    public boolean sameShape(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    /** True when the elements lie in row-major order without gaps (from {@link #offset()}). */
    public boolean isContiguous() {
        int expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /** The backing float array of an F32 tensor (not a copy: index it with {@link #offset()} and strides). */
    public float[] floats() {
        if (storage instanceof FloatStorage fs) return fs.array();
        throw new Moe4jException("floats(): tensor is " + dtype() + ", not F32");
    }

    /** The backing double array of an F64 tensor. */
    public double[] doubles() {
        if (storage instanceof DoubleStorage ds) return ds.array();
        throw new Moe4jException("doubles(): tensor is " + dtype() + ", not F64");
    }

    // ---- element access (slow; for tests, tools and setup code) --------------------------------------------

    private int index(int[] idx) {
        if (idx.length != shape.length) {
            throw ShapeException.of("index", idx.length + " indices for a tensor of rank " + shape.length, shape);
        }
        int p = offset;
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape[i]) {
                throw ShapeException.of("index", "index " + Arrays.toString(idx) + " out of bounds", shape);
            }
            p += idx[i] * strides[i];
        }
        return p;
    }

    public float get(int... idx) {
        return (float) storage.get(index(idx));
    }

    public double getDouble(int... idx) {
        return storage.get(index(idx));
    }

    public void set(double value, int... idx) {
        storage.set(index(idx), value);
    }

    /** The storage position of the element at logical row-major position {@code flat}. */
    public int storageIndex(int flat) {
        int p = offset;
        for (int i = shape.length - 1; i >= 0; i--) {
            int d = shape[i];
            p += (flat % d) * strides[i];
            flat /= d;
        }
        return p;
    }

    /** The elements in row-major order, as a new float array. */
    public float[] toFloatArray() {
        float[] out = new float[numel];
        if (storage instanceof FloatStorage fs && isContiguous()) {
            System.arraycopy(fs.array(), offset, out, 0, numel);
        } else {
            for (int i = 0; i < numel; i++) out[i] = (float) storage.get(storageIndex(i));
        }
        return out;
    }

    /** The elements in row-major order, as a new double array. */
    public double[] toDoubleArray() {
        double[] out = new double[numel];
        for (int i = 0; i < numel; i++) out[i] = storage.get(storageIndex(i));
        return out;
    }

    /** The single value of a one-element tensor. */
    public double item() {
        if (numel != 1) throw ShapeException.of("item", "tensor has " + numel + " elements, not 1", shape);
        return storage.get(offset);
    }

    // ---- copies ----------------------------------------------------------------------------------------------

    /** This tensor if it is contiguous, else a contiguous copy. */
    public Tensor contiguous() {
        return isContiguous() ? this : copy();
    }

    /** A contiguous copy with new storage. */
    public Tensor copy() {
        return to(dtype());
    }

    /** A contiguous copy in the given dtype. */
    public Tensor to(DType dtype) {
        Tensor out = zeros(dtype, shape);
        if (storage instanceof FloatStorage src && out.storage instanceof FloatStorage dst && isContiguous()) {
            System.arraycopy(src.array(), offset, dst.array(), 0, numel);
        } else {
            for (int i = 0; i < numel; i++) out.storage.set(i, storage.get(storageIndex(i)));
        }
        return out;
    }

    /** Copies {@code src} (same shape) into this tensor's elements, through any strides. */
    public void copyFrom(Tensor src) {
        if (!Arrays.equals(shape, src.shape)) throw ShapeException.of("copyFrom", "shapes differ", shape, src.shape);
        if (storage instanceof FloatStorage dst && src.storage instanceof FloatStorage s
                && isContiguous() && src.isContiguous()) {
            System.arraycopy(s.array(), src.offset, dst.array(), offset, numel);
            return;
        }
        for (int i = 0; i < numel; i++) storage.set(storageIndex(i), src.storage.get(src.storageIndex(i)));
    }

    // ---- views -----------------------------------------------------------------------------------------------

    /** The same elements in a new shape; one dimension may be -1. A view when contiguous, else a copy. */
    public Tensor reshape(int... newShape) {
        int[] s = resolveReshape(newShape);
        Tensor base = contiguous();
        return new Tensor(base.storage, base.offset, s, Shapes.contiguousStrides(s));
    }

    private int[] resolveReshape(int[] newShape) {
        int[] s = newShape.clone();
        int infer = -1;
        int known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw ShapeException.of("reshape", "more than one -1 in", s);
                infer = i;
            } else if (s[i] < 0) {
                throw ShapeException.of("reshape", "negative dimension in", s);
            } else {
                known *= s[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                throw ShapeException.of("reshape", "cannot infer -1 for " + numel + " elements", shape, newShape);
            }
            s[infer] = numel / known;
        }
        if (Shapes.numel(s) != numel) {
            throw ShapeException.of("reshape", numel + " elements do not fit the new shape", shape, newShape);
        }
        return s;
    }

    /** Reorders the axes: axis i of the result is axis {@code axes[i]} of this tensor. Always a view. */
    public Tensor permute(int... axes) {
        if (axes.length != shape.length) {
            throw ShapeException.of("permute", axes.length + " axes given for rank " + shape.length, shape);
        }
        int[] s = new int[axes.length];
        int[] st = new int[axes.length];
        boolean[] seen = new boolean[axes.length];
        for (int i = 0; i < axes.length; i++) {
            int a = Shapes.axis("permute", axes[i], shape.length);
            if (seen[a]) throw new ShapeException("permute", "axis " + a + " repeated in " + Arrays.toString(axes));
            seen[a] = true;
            s[i] = shape[a];
            st[i] = strides[a];
        }
        return new Tensor(storage, offset, s, st);
    }

    /** Swaps two axes (a view). */
    public Tensor transpose(int axisA, int axisB) {
        int a = Shapes.axis("transpose", axisA, shape.length);
        int b = Shapes.axis("transpose", axisB, shape.length);
        int[] perm = new int[shape.length];
        for (int i = 0; i < perm.length; i++) perm[i] = i;
        perm[a] = b;
        perm[b] = a;
        return permute(perm);
    }

    /** Elements {@code start .. start+length-1} along one axis (a view). */
    public Tensor narrow(int axis, int start, int length) {
        int a = Shapes.axis("narrow", axis, shape.length);
        if (start < 0 || length < 0 || start + length > shape[a]) {
            throw ShapeException.of("narrow", "range [" + start + ", " + (start + length) + ") outside axis " + a, shape);
        }
        int[] s = shape.clone();
        s[a] = length;
        return new Tensor(storage, offset + start * strides[a], s, strides.clone());
    }

    /** Elements {@code start, start+step, ...} below {@code end} along one axis (a view); negative bounds count from the end. */
    public Tensor slice(int axis, int start, int end, int step) {
        int a = Shapes.axis("slice", axis, shape.length);
        int n = shape[a];
        int lo = start < 0 ? start + n : start;
        int hi = end < 0 ? end + n : Math.min(end, n);
        if (step <= 0) throw new ShapeException("slice", "step must be positive, got " + step);
        if (lo < 0 || lo > n || hi < lo) {
            throw ShapeException.of("slice", "range [" + start + ", " + end + ") invalid on axis " + a, shape);
        }
        int[] s = shape.clone();
        int[] st = strides.clone();
        s[a] = (hi - lo + step - 1) / step;
        st[a] = strides[a] * step;
        return new Tensor(storage, offset + lo * strides[a], s, st);
    }

    public Tensor slice(int axis, int start, int end) {
        return slice(axis, start, end, 1);
    }

    /** Broadcasts to a larger shape (a view with zero strides on the broadcast axes). */
    public Tensor expand(int... newShape) {
        int[] target = newShape.clone();
        if (target.length < shape.length) throw ShapeException.of("expand", "cannot expand to a lower rank", shape, target);
        int lead = target.length - shape.length;
        int[] st = new int[target.length];
        for (int i = 0; i < target.length; i++) {
            int src = i - lead;
            int d = src >= 0 ? shape[src] : 1;
            if (d == target[i]) {
                st[i] = src >= 0 ? strides[src] : 0;
            } else if (d == 1) {
                st[i] = 0;
            } else {
                throw ShapeException.of("expand", "axis " + i + " is neither equal nor 1", shape, target);
            }
        }
        return new Tensor(storage, offset, target, st);
    }

    /** Inserts an axis of size 1 (a view). */
    public Tensor unsqueeze(int axis) {
        int a = Shapes.axis("unsqueeze", axis, shape.length + 1);
        int[] s = new int[shape.length + 1];
        int[] st = new int[shape.length + 1];
        for (int i = 0, j = 0; i < s.length; i++) {
            if (i == a) {
                s[i] = 1;
                st[i] = j < shape.length ? strides[j] * shape[j] : 1;
            } else {
                s[i] = shape[j];
                st[i] = strides[j++];
            }
        }
        return new Tensor(storage, offset, s, st);
    }

    /** Removes an axis of size 1 (a view). */
    public Tensor squeeze(int axis) {
        int a = Shapes.axis("squeeze", axis, shape.length);
        if (shape[a] != 1) throw ShapeException.of("squeeze", "axis " + a + " has size " + shape[a] + ", not 1", shape);
        int[] s = new int[shape.length - 1];
        int[] st = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i == a) continue;
            s[j] = shape[i];
            st[j++] = strides[i];
        }
        return new Tensor(storage, offset, s, st);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor").append(dtype()).append(Arrays.toString(shape)).append(' ');
        int shown = Math.min(numel, 8);
        sb.append('[');
        for (int i = 0; i < shown; i++) {
            if (i > 0) sb.append(", ");
            sb.append((float) storage.get(storageIndex(i)));
        }
        if (shown < numel) sb.append(", …");
        return sb.append(']').toString();
    }
}
