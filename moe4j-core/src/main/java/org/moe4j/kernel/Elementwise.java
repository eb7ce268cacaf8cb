package org.moe4j.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Shapes;
import org.moe4j.tensor.Tensor;

/**
 * Elementwise kernels: broadcasting binary arithmetic, unary functions and their derivatives. Each has a scalar
 * reference (through {@code Storage.get/set}, so it also serves F64) and a Vector API fast path for F32 data.
 */
public final class Elementwise {
    private static final VectorSpecies<Float> S = Backend.FLOATS;
    private static final int GRAIN = 1 << 15; // elements per task for cheap ops
    private static final int MATH_GRAIN = 1 << 12; // for transcendental ones
    static final double SQRT_2_OVER_PI = 0.7978845608028654;
    static final double GELU_TANH_K = 0.044715;
    static final double INV_SQRT_2PI = 0.3989422804014327;

    private Elementwise() {}

    // ---- in-place accumulation -------------------------------------------------------------------------------

    /** {@code dst += src}, same shapes; dst may be any view, src any view. Used to accumulate gradients. */
    public static void addInPlace(Tensor dst, Tensor src) {
        if (!dst.sameShape(src)) throw ShapeException.of("addInPlace", "shapes differ", dst.shape(), src.shape());
        if (fast(dst) && fast(src)) {
            float[] d = dst.floats();
            float[] s = src.floats();
            int od = dst.offset();
            int os = src.offset();
            Parallel.forRange(dst.numel(), GRAIN, (from, to) -> addInPlaceVector(d, od, s, os, from, to));
        } else {
            addInPlaceReference(dst, src);
        }
    }

    static void addInPlaceReference(Tensor dst, Tensor src) {
        var d = dst.storage();
        var s = src.storage();
        for (int i = 0; i < dst.numel(); i++) {
            int p = dst.storageIndex(i);
            d.set(p, d.get(p) + s.get(src.storageIndex(i)));
        }
    }

    private static void addInPlaceVector(float[] d, int od, float[] s, int os, int from, int to) {
        int i = from;
        for (int upper = from + S.loopBound(to - from); i < upper; i += S.length()) {
            FloatVector.fromArray(S, d, od + i).add(FloatVector.fromArray(S, s, os + i)).intoArray(d, od + i);
        }
        for (; i < to; i++) d[od + i] += s[os + i];
    }

    /** True when a tensor may take the float fast path: F32, contiguous, vector backend. */
    static boolean fast(Tensor t) {
        return Backend.vector() && t.dtype() == DType.F32 && t.isContiguous();
    }

    /** True when every tensor is F32 and the vector backend is on (the fast path may then make them contiguous). */
    static boolean floatPath(Tensor... ts) {
        if (!Backend.vector()) return false;
        for (Tensor t : ts) if (t.dtype() != DType.F32) return false;
        return true;
    }

    // ---- broadcasting binary arithmetic ----------------------------------------------------------------------

    /** The four broadcasting binary operations. */
    public enum Binary {
        ADD, SUB, MUL, DIV;

        double apply(double a, double b) {
            return switch (this) {
                case ADD -> a + b;
                case SUB -> a - b;
                case MUL -> a * b;
                case DIV -> a / b;
            };
        }

        String opName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** {@code a + b} with NumPy broadcasting. */
    public static Tensor add(Tensor a, Tensor b) {
        return binary(Binary.ADD, a, b);
    }

    /** {@code a - b} with NumPy broadcasting. */
    public static Tensor sub(Tensor a, Tensor b) {
        return binary(Binary.SUB, a, b);
    }

    /** {@code a * b} with NumPy broadcasting. */
    public static Tensor mul(Tensor a, Tensor b) {
        return binary(Binary.MUL, a, b);
    }

    /** {@code a / b} with NumPy broadcasting. */
    public static Tensor div(Tensor a, Tensor b) {
        return binary(Binary.DIV, a, b);
    }

    /** {@code a op b} with NumPy broadcasting, into a new contiguous tensor of the broadcast shape. */
    public static Tensor binary(Binary op, Tensor a, Tensor b) {
        String name = op.opName();
        checkSameDtype(name, a, b);
        int[] shape = Shapes.broadcast(name, a.shape(), b.shape());
        Tensor out = a.newZeros(shape);
        if (floatPath(a, b)) {
            binaryVector(op, a.expand(shape), b.expand(shape), out);
        } else {
            binaryReference(op, a, b, out);
        }
        return out;
    }

    static Tensor binaryReference(Binary op, Tensor a, Tensor b) {
        checkSameDtype(op.opName(), a, b);
        Tensor out = a.newZeros(Shapes.broadcast(op.opName(), a.shape(), b.shape()));
        binaryReference(op, a, b, out);
        return out;
    }

    private static void binaryReference(Binary op, Tensor a, Tensor b, Tensor out) {
        int[] shape = out.shape();
        Tensor ea = a.expand(shape);
        Tensor eb = b.expand(shape);
        var sa = ea.storage();
        var sb = eb.storage();
        var so = out.storage();
        for (int i = 0; i < out.numel(); i++) {
            so.set(i, op.apply(sa.get(ea.storageIndex(i)), sb.get(eb.storageIndex(i))));
        }
    }

    private static void checkSameDtype(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) {
            throw ShapeException.of(op, "dtypes differ (" + a.dtype() + " and " + b.dtype() + ")", a.shape(), b.shape());
        }
    }

    /**
     * The float path over any strides: axes are merged where both operands allow, so the common cases (same
     * shapes, a bias row, a per-row scale) become rows whose operands each have stride 1 or 0 and are vectorized.
     */
    private static void binaryVector(Binary op, Tensor a, Tensor b, Tensor out) {
        int[] shape = out.shape();
        int[] sa = a.strides();
        int[] sb = b.strides();
        // merge axes from the innermost outward; drop axes of size 1
        int[] dims = new int[shape.length];
        int[] da = new int[shape.length];
        int[] db = new int[shape.length];
        int rank = 0;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 1) continue;
            if (rank > 0 && sa[i] == da[rank - 1] * dims[rank - 1] && sb[i] == db[rank - 1] * dims[rank - 1]) {
                dims[rank - 1] *= shape[i];
            } else {
                dims[rank] = shape[i];
                da[rank] = sa[i];
                db[rank] = sb[i];
                rank++;
            }
        }
        // dims[0] is now the innermost axis, dims[rank-1] the outermost
        int n = rank == 0 ? 1 : dims[0];
        int innerA = rank == 0 ? 0 : da[0];
        int innerB = rank == 0 ? 0 : db[0];
        int rows = out.numel() / Math.max(1, n);
        float[] x = a.floats();
        float[] y = b.floats();
        float[] o = out.floats();
        int rankF = rank;
        if (rows == 0 || n == 0) return;
        if (rows == 1) {
            int oa = a.offset();
            int ob = b.offset();
            Parallel.forRange(n, GRAIN, (from, to) -> binaryRow(op, x, oa, innerA, y, ob, innerB, o, 0, from, to));
            return;
        }
        Parallel.forRange(rows, Math.max(1, GRAIN / n), (from, to) -> {
            for (int r = from; r < to; r++) {
                int oa = a.offset();
                int ob = b.offset();
                int rem = r;
                for (int d = 1; d < rankF; d++) {
                    int idx = rem % dims[d];
                    rem /= dims[d];
                    oa += idx * da[d];
                    ob += idx * db[d];
                }
                binaryRow(op, x, oa, innerA, y, ob, innerB, o, r * n, 0, n);
            }
        });
    }

    /**
     * Elements [from, to) of one row; each operand's stride is 1 (vectorized), 0 (broadcast) or anything else
     * (scalar). One loop method per operation, so that vectors never cross a call.
     */
    private static void binaryRow(Binary op, float[] x, int ox, int sx, float[] y, int oy, int sy, float[] o, int oo,
            int from, int to) {
        int i = from;
        if ((sx == 1 || sx == 0) && (sy == 1 || sy == 0) && (sx | sy) != 0) {
            i = switch (op) {
                case ADD -> addRow(x, ox, sx, y, oy, sy, o, oo, from, to);
                case SUB -> subRow(x, ox, sx, y, oy, sy, o, oo, from, to);
                case MUL -> mulRow(x, ox, sx, y, oy, sy, o, oo, from, to);
                case DIV -> divRow(x, ox, sx, y, oy, sy, o, oo, from, to);
            };
        }
        for (; i < to; i++) o[oo + i] = (float) op.apply(x[ox + i * sx], y[oy + i * sy]);
    }

    // Each: o[oo + i] = x[ox + i*sx] op y[oy + i*sy] with strides in {0, 1}, not both 0; returns where it stopped.
    // Three plain loops (both rows, a broadcast right, a broadcast left), so no vector is ever a phi of two others.

    private static int addRow(float[] x, int ox, int sx, float[] y, int oy, int sy, float[] o, int oo, int from, int to) {
        int i = from;
        int u = upper(from, to);
        if (sx == 1 && sy == 1) {
            for (; i < u; i += S.length()) load(x, ox + i).add(load(y, oy + i)).intoArray(o, oo + i);
        } else if (sx == 1) {
            FloatVector b = FloatVector.broadcast(S, y[oy]);
            for (; i < u; i += S.length()) load(x, ox + i).add(b).intoArray(o, oo + i);
        } else {
            FloatVector a = FloatVector.broadcast(S, x[ox]);
            for (; i < u; i += S.length()) a.add(load(y, oy + i)).intoArray(o, oo + i);
        }
        return i;
    }

    private static int subRow(float[] x, int ox, int sx, float[] y, int oy, int sy, float[] o, int oo, int from, int to) {
        int i = from;
        int u = upper(from, to);
        if (sx == 1 && sy == 1) {
            for (; i < u; i += S.length()) load(x, ox + i).sub(load(y, oy + i)).intoArray(o, oo + i);
        } else if (sx == 1) {
            FloatVector b = FloatVector.broadcast(S, y[oy]);
            for (; i < u; i += S.length()) load(x, ox + i).sub(b).intoArray(o, oo + i);
        } else {
            FloatVector a = FloatVector.broadcast(S, x[ox]);
            for (; i < u; i += S.length()) a.sub(load(y, oy + i)).intoArray(o, oo + i);
        }
        return i;
    }

    private static int mulRow(float[] x, int ox, int sx, float[] y, int oy, int sy, float[] o, int oo, int from, int to) {
        int i = from;
        int u = upper(from, to);
        if (sx == 1 && sy == 1) {
            for (; i < u; i += S.length()) load(x, ox + i).mul(load(y, oy + i)).intoArray(o, oo + i);
        } else if (sx == 1) {
            FloatVector b = FloatVector.broadcast(S, y[oy]);
            for (; i < u; i += S.length()) load(x, ox + i).mul(b).intoArray(o, oo + i);
        } else {
            FloatVector a = FloatVector.broadcast(S, x[ox]);
            for (; i < u; i += S.length()) a.mul(load(y, oy + i)).intoArray(o, oo + i);
        }
        return i;
    }

    private static int divRow(float[] x, int ox, int sx, float[] y, int oy, int sy, float[] o, int oo, int from, int to) {
        int i = from;
        int u = upper(from, to);
        if (sx == 1 && sy == 1) {
            for (; i < u; i += S.length()) load(x, ox + i).div(load(y, oy + i)).intoArray(o, oo + i);
        } else if (sx == 1) {
            FloatVector b = FloatVector.broadcast(S, y[oy]);
            for (; i < u; i += S.length()) load(x, ox + i).div(b).intoArray(o, oo + i);
        } else {
            FloatVector a = FloatVector.broadcast(S, x[ox]);
            for (; i < u; i += S.length()) a.div(load(y, oy + i)).intoArray(o, oo + i);
        }
        return i;
    }

    // ---- unary functions -------------------------------------------------------------------------------------

    /**
     * Unary functions. Some take parameters p and q, with the defaults given here (used by {@link #map(Fn, Tensor)}).
     */
    public enum Fn {
        /** {@code p * x + q} (defaults 1, 0). */
        AFFINE(1, 0),
        EXP,
        LOG,
        SQRT,
        /** {@code 1 / sqrt(x)}. */
        RSQRT,
        ABS,
        RELU,
        /** {@code x * Phi(x)} with the exact normal CDF. */
        GELU,
        /** The tanh approximation {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}. */
        GELU_TANH,
        /** {@code x * sigmoid(x)}. */
        SILU,
        SIGMOID,
        TANH,
        /** {@code log(1 + exp(p x)) / p}, and x itself where {@code p x > q} (defaults beta 1, threshold 20). */
        SOFTPLUS(1, 20),
        /** Clamps into [p, q] (defaults -inf, +inf). */
        CLAMP(Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY),
        /** {@code x ^ p} (default 1). */
        POW(1, 0);

        private final double defaultP;
        private final double defaultQ;

        Fn() {
            this(0, 0);
        }

        Fn(double p, double q) {
            defaultP = p;
            defaultQ = q;
        }

        /** The default first parameter (see each function). */
        public double defaultP() {
            return defaultP;
        }

        /** The default second parameter. */
        public double defaultQ() {
            return defaultQ;
        }

        String opName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** {@code f(x)} elementwise with the function's default parameters. */
    public static Tensor map(Fn fn, Tensor x) {
        return map(fn, x, fn.defaultP, fn.defaultQ);
    }

    /** {@code f(x)} elementwise, into a new contiguous tensor. */
    public static Tensor map(Fn fn, Tensor x, double p, double q) {
        checkParams(fn, p, q);
        if (!floatPath(x)) return mapReference(fn, x, p, q);
        Tensor xc = x.contiguous();
        Tensor out = xc.newZeros(xc.shape());
        float[] in = xc.floats();
        float[] o = out.floats();
        int off = xc.offset();
        float fp = (float) p;
        float fq = (float) q;
        Parallel.forRange(xc.numel(), grain(fn), (from, to) -> UnaryLoops.map(fn, in, off, o, from, to, fp, fq));
        return out;
    }

    /**
     * {@code grad * f'(x)}, the gradient of a unary function; {@code y = f(x)} is the forward output (some
     * derivatives are cheaper from it). All three have one shape.
     */
    public static Tensor mapBackward(Fn fn, Tensor x, Tensor y, Tensor grad, double p, double q) {
        if (!x.sameShape(grad) || !y.sameShape(grad)) {
            throw ShapeException.of(fn.opName() + " backward", "shapes differ", x.shape(), y.shape(), grad.shape());
        }
        if (!floatPath(x, y, grad)) return mapBackwardReference(fn, x, y, grad, p, q);
        Tensor xc = x.contiguous();
        Tensor yc = y.contiguous();
        Tensor gc = grad.contiguous();
        Tensor out = gc.newZeros(gc.shape());
        float[] xa = xc.floats();
        float[] ya = yc.floats();
        float[] ga = gc.floats();
        float[] o = out.floats();
        int ox = xc.offset();
        int oy = yc.offset();
        int og = gc.offset();
        float fp = (float) p;
        float fq = (float) q;
        Parallel.forRange(gc.numel(), grain(fn),
                (from, to) -> UnaryLoops.backward(fn, xa, ox, ya, oy, ga, og, o, from, to, fp, fq));
        return out;
    }

    private static int grain(Fn fn) {
        return switch (fn) {
            case AFFINE, ABS, RELU, CLAMP -> GRAIN;
            default -> MATH_GRAIN;
        };
    }

    private static void checkParams(Fn fn, double p, double q) {
        if (fn == Fn.SOFTPLUS && !(p > 0)) throw new Moe4jException("softplus: beta must be positive, got " + p);
        if (fn == Fn.CLAMP && p > q) throw new Moe4jException("clamp: min " + p + " is above max " + q);
    }

    static Tensor mapReference(Fn fn, Tensor x, double p, double q) {
        checkParams(fn, p, q);
        Tensor out = x.newZeros(x.shape());
        var sx = x.storage();
        var so = out.storage();
        for (int i = 0; i < x.numel(); i++) so.set(i, apply(fn, sx.get(x.storageIndex(i)), p, q));
        return out;
    }

    static Tensor mapBackwardReference(Fn fn, Tensor x, Tensor y, Tensor grad, double p, double q) {
        Tensor out = grad.newZeros(grad.shape());
        var sx = x.storage();
        var sy = y.storage();
        var sg = grad.storage();
        var so = out.storage();
        for (int i = 0; i < x.numel(); i++) {
            double d = derivative(fn, sx.get(x.storageIndex(i)), sy.get(y.storageIndex(i)), p, q);
            so.set(i, chain(sg.get(grad.storageIndex(i)), d));
        }
        return out;
    }

    /** The scalar definition of each function, in double precision. */
    static double apply(Fn fn, double x, double p, double q) {
        return switch (fn) {
            case AFFINE -> p * x + q;
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SQRT -> Math.sqrt(x);
            case RSQRT -> 1 / Math.sqrt(x);
            case ABS -> Math.abs(x);
            case RELU -> Math.max(x, 0);
            case GELU -> x * ErrorFunction.normalCdf(x);
            // 0.5 (1 + tanh u) = sigmoid(2u): the same function, without cancellation in the lower tail
            case GELU_TANH -> x * sigmoid(2 * geluTanhInner(x));
            case SILU -> x * sigmoid(x);
            case SIGMOID -> sigmoid(x);
            case TANH -> Math.tanh(x);
            case SOFTPLUS -> {
                double z = p * x;
                yield z > q ? x : (Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)))) / p;
            }
            case CLAMP -> Math.min(Math.max(x, p), q);
            case POW -> Math.pow(x, p);
        };
    }

    /** dy/dx at x, given y = f(x). */
    static double derivative(Fn fn, double x, double y, double p, double q) {
        return switch (fn) {
            case AFFINE -> p;
            case EXP -> y;
            case LOG -> 1 / x;
            case SQRT -> 0.5 / y;
            case RSQRT -> -0.5 * y * y * y;
            case ABS -> Math.signum(x);
            case RELU -> x > 0 ? 1 : 0;
            case GELU -> ErrorFunction.normalCdf(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
            case GELU_TANH -> {
                double s = sigmoid(2 * geluTanhInner(x));
                double du = SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_K * x * x);
                yield s + 2 * x * s * (1 - s) * du;
            }
            case SILU -> {
                double s = sigmoid(x);
                yield s * (1 + x * (1 - s));
            }
            case SIGMOID -> y * (1 - y);
            case TANH -> 1 - y * y;
            case SOFTPLUS -> p * x > q ? 1 : sigmoid(p * x);
            case CLAMP -> x >= p && x <= q ? 1 : 0;
            case POW -> p == 0 ? 0 : p * Math.pow(x, p - 1);
        };
    }

    /** {@code g * d}, except that a zero derivative (a closed ReLU or clamp) blocks even an infinite gradient. */
    static double chain(double g, double d) {
        return d == 0 ? 0 : g * d;
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    private static double geluTanhInner(double x) {
        return SQRT_2_OVER_PI * (x + GELU_TANH_K * x * x * x);
    }

    private static int upper(int from, int to) {
        return from + S.loopBound(to - from);
    }

    private static FloatVector load(float[] a, int i) {
        return FloatVector.fromArray(S, a, i);
    }
}
