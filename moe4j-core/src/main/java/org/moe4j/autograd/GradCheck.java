package org.moe4j.autograd;

import java.util.Arrays;
import java.util.function.Function;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.Rng;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;

/**
 * Float64 finite-difference gradient check. The function runs on F64 inputs, so every op takes its scalar
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

    /** Checks with eps 1e-6 and tolerance {@code |a-n| <= 1e-6 + 1e-5 |n|}. */
    public static Result check(Function<Variable[], Variable> f, Tensor... inputs) {
        return check(f, 1e-6, 1e-6, 1e-5, 1234, inputs);
    }

    public static Result check(Function<Variable[], Variable> f, double eps, double atol, double rtol, long seed,
            Tensor... inputs) {
        Tensor[] xs = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i].dtype() != DType.F64) throw new Moe4jException("gradcheck: input " + i + " must be F64");
            xs[i] = inputs[i].copy();
        }
        Variable[] vars = new Variable[xs.length];
        for (int i = 0; i < xs.length; i++) vars[i] = Variable.parameter(xs[i]);
        Variable out = f.apply(vars);
        Rng rng = new Rng(seed);
        double[] r = new double[out.value().numel()];
        for (int i = 0; i < r.length; i++) r[i] = rng.normal();
        Tensor projection = Tensor.ofDoubles(r, out.shape());
        out.backward(projection);

        Result worst = new Result(true, -1, -1, 0, 0, 0);
        double worstRatio = 0;
        for (int i = 0; i < xs.length; i++) {
            double[] data = xs[i].doubles();
            double[] grad = vars[i].grad() == null ? new double[data.length] : vars[i].grad().toDoubleArray();
            for (int e = 0; e < data.length; e++) {
                double saved = data[e];
                data[e] = saved + eps;
                double plus = project(f, xs, r);
                data[e] = saved - eps;
                double minus = project(f, xs, r);
                data[e] = saved;
                double numeric = (plus - minus) / (2 * eps);
                double analytic = grad[e];
                double err = Math.abs(analytic - numeric);
                double ratio = err / (atol + rtol * Math.abs(numeric));
                if (ratio > worstRatio || Double.isNaN(err)) {
                    worstRatio = Double.isNaN(err) ? Double.POSITIVE_INFINITY : ratio;
                    worst = new Result(ratio <= 1, i, e, analytic, numeric, err);
                }
            }
        }
        return worst;
    }

    private static double project(Function<Variable[], Variable> f, Tensor[] xs, double[] r) {
        Variable[] consts = Arrays.stream(xs).map(Variable::constant).toArray(Variable[]::new);
        double[] y;
        try (GradMode scope = GradMode.off()) {
            y = f.apply(consts).value().toDoubleArray();
        }
        double s = 0;
        for (int i = 0; i < y.length; i++) s += y[i] * r[i];
        return s;
    }
}
