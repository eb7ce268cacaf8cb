package org.moe4j.autograd;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;

/**
 * Float64 finite-difference gradient check. Everything runs on F64 tensors, so every op takes its scalar
 * reference path in double precision; the analytic gradient of {@code sum(f(x) * r)} for a random projection
 * {@code r} is compared with central differences of the same scalar.
 */
public final class GradCheck {
    /** The worst disagreement found, for a useful assertion message. */
    public record Result(boolean passed, int input, int element, double analytic, double numeric, double error) {
        @Override
        public String toString() {
            return passed ? "gradcheck passed (max error " + error + ")"
                    : "gradcheck failed at input " + input + " element " + element + ": analytic " + analytic
                            + " vs numeric " + numeric + " (error " + error + ")";
        }
    }

    private GradCheck() {}

    /** Checks {@code f} at {@code inputs} with eps 1e-6 and tolerance {@code |a-n| <= 1e-6 + 1e-5 |n|}. */
    public static Result check(Function<Variable[], Variable> f, Tensor... inputs) {
        return check(f, 1e-6, 1e-6, 1e-5, 1234, inputs);
    }

    public static Result check(Function<Variable[], Variable> f, double eps, double atol, double rtol, long seed,
            Tensor... inputs) {
        List<Variable> leaves = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) leaves.add(Variable.parameter(requireF64(inputs[i], i).copy()));
        Variable[] args = leaves.toArray(Variable[]::new);
        return run(() -> f.apply(args), leaves, eps, atol, rtol, seed);
    }

    /**
     * Checks a computation over existing parameters (a module's, built with F64 weights): {@code forward} is called
     * once with recording on and then, for each perturbed element, with recording off. The parameters' values are
     * perturbed in place and restored.
     */
    public static Result checkParameters(Supplier<Variable> forward, List<Variable> params) {
        for (int i = 0; i < params.size(); i++) {
            Variable p = params.get(i);
            requireF64(p.value(), i);
            if (!p.value().isContiguous()) throw new Moe4jException("gradcheck: parameter " + i + " is not contiguous");
            p.zeroGrad();
        }
        return run(forward, params, 1e-6, 1e-6, 1e-5, 1234);
    }

    private static Tensor requireF64(Tensor t, int index) {
        if (t.dtype() != DType.F64) throw new Moe4jException("gradcheck: input " + index + " must be F64, is " + t.dtype());
        return t;
    }

    private static Result run(Supplier<Variable> forward, List<Variable> leaves, double eps, double atol, double rtol,
            long seed) {
        Variable out = forward.get();
        Rng rng = new Rng(seed);
        double[] r = new double[out.value().numel()];
        for (int i = 0; i < r.length; i++) r[i] = rng.normal();
        out.backward(Tensor.ofDoubles(r, out.shape()));

        Result worst = new Result(true, -1, -1, 0, 0, 0);
        double worstRatio = 0;
        for (int i = 0; i < leaves.size(); i++) {
            Tensor value = leaves.get(i).value();
            double[] data = value.doubles();
            int base = value.offset();
            Tensor g = leaves.get(i).grad();
            double[] grad = g == null ? new double[value.numel()] : g.toDoubleArray();
            for (int e = 0; e < value.numel(); e++) {
                double saved = data[base + e];
                data[base + e] = saved + eps;
                double plus = project(forward, r);
                data[base + e] = saved - eps;
                double minus = project(forward, r);
                data[base + e] = saved;
                double numeric = (plus - minus) / (2 * eps);
                double err = Math.abs(grad[e] - numeric);
                double ratio = err / (atol + rtol * Math.abs(numeric));
                if (ratio > worstRatio || Double.isNaN(err)) {
                    worstRatio = Double.isNaN(err) ? Double.POSITIVE_INFINITY : ratio;
                    worst = new Result(ratio <= 1, i, e, grad[e], numeric, err);
                }
            }
        }
        return worst;
    }

    private static double project(Supplier<Variable> forward, double[] r) {
        double[] y;
        try (GradMode scope = GradMode.off()) {
            y = forward.get().value().toDoubleArray();
        }
        double s = 0;
        for (int i = 0; i < y.length; i++) s += y[i] * r[i];
        return s;
    }
}
