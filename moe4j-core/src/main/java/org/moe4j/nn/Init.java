package org.moe4j.nn;

import org.moe4j.common.Rng;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;

/**
 * Parameter initialisers, each drawing from a caller-owned {@link Rng} so that a seed fixes every weight.
 * Parameters are F32; inside a {@link #withDType(DType) F64 scope} (gradchecks of whole modules) they are F64,
 * drawn from the same random numbers. Inside a {@link #deferred() deferred scope} (loading a model whose weights a file
 * will supply) the random initialisers make placeholders that hold no memory.
 */
public final class Init {
    private static final ThreadLocal<DType> DTYPE = ThreadLocal.withInitial(() -> DType.F32);
    private static final ThreadLocal<Boolean> DEFERRED = ThreadLocal.withInitial(() -> false);

    /** Ends a {@link #deferred()} scope. */
    public static final class DeferredScope implements AutoCloseable {
        private final boolean previous;

        private DeferredScope(boolean previous) {
            this.previous = previous;
        }

        @Override
        public void close() {
            DEFERRED.set(previous);
        }
    }

    /** Restores the previous parameter dtype when closed. */
    public static final class DTypeScope implements AutoCloseable {
        private final DType previous;

        private DTypeScope(DType previous) {
            this.previous = previous;
        }

        @Override
        public void close() {
            DTYPE.set(previous);
        }
    }

    private Init() {}

    /** Makes the initialisers on this thread create {@code dtype} tensors until the scope is closed. */
    public static DTypeScope withDType(DType dtype) {
        DTypeScope scope = new DTypeScope(DTYPE.get());
        DTYPE.set(dtype);
        return scope;
    }

    /**
     * Until closed, {@link #uniform}, {@link #normal} and {@link #kaimingUniform} on this thread return {@link
     * Tensor#placeholder placeholders} and draw nothing: a model built to be loaded then takes no memory for its
     * weights until the loader gives each one its values ({@link org.moe4j.autograd.Variable#materialize()}), and a
     * quantized weight never takes float memory at all. Small constants (norm weights, zero biases) are still made.
     */
    public static DeferredScope deferred() {
        DeferredScope scope = new DeferredScope(DEFERRED.get());
        DEFERRED.set(true);
        return scope;
    }

    public static Tensor uniform(Rng rng, double bound, int... shape) {
        if (DEFERRED.get()) return Tensor.placeholder(DTYPE.get(), shape);
        Tensor t = Tensor.zeros(DTYPE.get(), shape);
        for (int i = 0; i < t.numel(); i++) t.storage().set(i, (float) rng.uniform(-bound, bound));
        return t;
    }

    public static Tensor normal(Rng rng, double std, int... shape) {
        if (DEFERRED.get()) return Tensor.placeholder(DTYPE.get(), shape);
        Tensor t = Tensor.zeros(DTYPE.get(), shape);
        for (int i = 0; i < t.numel(); i++) t.storage().set(i, (float) (std * rng.normal()));
        return t;
    }

    /** A constant tensor (norm weights, biases that start at zero). */
    public static Tensor constant(double value, int... shape) {
        return Tensor.full(DTYPE.get(), value, shape);
    }

    /**
     * PyTorch's default for Linear and Conv weights: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (Kaiming uniform with
     * a = sqrt(5)), which keeps activations of a fresh network at a sensible scale.
     */
    public static Tensor kaimingUniform(Rng rng, int fanIn, int... shape) {
        return uniform(rng, 1.0 / Math.sqrt(fanIn), shape);
    }
}
