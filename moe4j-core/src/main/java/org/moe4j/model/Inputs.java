package org.moe4j.model;

import java.util.Arrays;
import org.moe4j.autograd.Variable;
import org.moe4j.common.Moe4jException;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.DType;

/** Checks a classifier's input, so a wrong shape fails with the model's name and the expected shape. */
final class Inputs {
    private Inputs() {}

    static void check(ClassifierConfig config, Variable x, DType parameters) {
        int[] want = config.inputShape();
        int[] got = x.shape();
        boolean ok = got.length == want.length + 1 && got[0] >= 1
                && Arrays.equals(Arrays.copyOfRange(got, 1, got.length), want);
        if (!ok) {
            StringBuilder expected = new StringBuilder("[batch");
            for (int d : want) expected.append(", ").append(d);
            throw ShapeException.of(config.kind(), "input must be " + expected.append(']') + " with batch >= 1", got);
        }
        if (x.dtype() != parameters) {
            throw new Moe4jException(config.kind() + ": input is " + x.dtype() + " but the parameters are " + parameters);
        }
    }
}
