package org.moe4j.moe;

import org.moe4j.autograd.Variable;
import org.moe4j.kernel.GatedScatter;
import org.moe4j.tensor.DType;
import org.moe4j.tensor.Tensor;

/**
 * Differentiable combine: the expert outputs of the permuted rows, weighted by their gates, summed back into
 * their tokens' places. Dropped assignments contribute nothing (so the residual alone carries a dropped token)
 * and get a zero gate gradient.
 */
final class Combine {
    private Combine() {}

    /** rows [R, D] (in plan order), gates [A] to out [tokens, D]. */
    static Variable apply(Variable rows, Variable gates, DispatchPlan plan, int tokens) {
        int[] rowAssignment = plan.rowAssignment();
        int[] rowToken = plan.rowToken();
        int r = rowAssignment.length;
        // Each token's rows in ascending order (CSR), so one thread sums a token in a fixed order.
        int[] tokenStart = new int[tokens + 1];
        for (int t : rowToken) tokenStart[t + 1]++;
        for (int t = 0; t < tokens; t++) tokenStart[t + 1] += tokenStart[t];
        int[] fill = java.util.Arrays.copyOf(tokenStart, tokens);
        int[] tokenRows = new int[r];
        for (int row = 0; row < r; row++) tokenRows[fill[rowToken[row]]++] = row;

        Tensor g = gates.value();
        float[] gate = new float[r];
        double[] gate64 = g.dtype() == DType.F64 ? new double[r] : null;
        for (int row = 0; row < r; row++) {
            double v = g.storage().get(g.storageIndex(rowAssignment[row]));
            gate[row] = (float) v;
            if (gate64 != null) gate64[row] = v;
        }
        Tensor out = GatedScatter.forward(rows.value(), gate, gate64, tokenStart, tokenRows, tokens);
        int assignments = gates.dim(0);
        return Variable.result("moeCombine", out, dOut -> {
            Tensor dRows = rows.requiresGrad() ? GatedScatter.backwardRows(dOut, gate, gate64, rowToken) : null;
            Tensor dGates = null;
            if (gates.requiresGrad()) {
                double[] perRow = GatedScatter.backwardGates(rows.value(), dOut, rowToken);
                dGates = g.newZeros(assignments);
                for (int row = 0; row < r; row++) dGates.storage().set(rowAssignment[row], perRow[row]);
            }
            return new Tensor[] {dRows, dGates};
        }, rows, gates);
    }
}
