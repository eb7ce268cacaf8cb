package org.moe4j.moe;

import org.moe4j.common.Moe4jException;
import org.moe4j.common.ShapeException;
import org.moe4j.tensor.Tensor;

/**
 * Checks shared by the routing algorithms: a score matrix is [tokens, experts], row-major, and every score is a
 * finite number. A NaN or infinity from an overflowed logit would otherwise turn into an arbitrary but silent
 * routing decision, so it is reported with its position instead.
 */
final class RoutingInput {
    private RoutingInput() {}

    /** The tensor's values row-major in double, after checking that it is [tokens, experts] and finite. */
    static double[] matrix(String op, Tensor scores) {
        if (scores.rank() != 2) throw ShapeException.of(op, "expects scores [tokens, experts]", scores.shape());
        double[] values = scores.toDoubleArray();
        requireFinite(op, values, scores.dim(1));
        return values;
    }

    /** Checks that {@code scores} holds exactly tokens x experts finite values. */
    static void checkArray(String op, float[] scores, int tokens, int experts) {
        if (tokens < 0 || experts < 1) {
            throw new Moe4jException(op + ": needs tokens >= 0 and experts >= 1, got tokens=" + tokens + ", experts="
                    + experts);
        }
        if (scores.length != (long) tokens * experts) {
            throw new Moe4jException(op + ": scores hold " + scores.length + " values, but [tokens=" + tokens
                    + ", experts=" + experts + "] needs " + (long) tokens * experts);
        }
        for (int i = 0; i < scores.length; i++) {
            if (!Float.isFinite(scores[i])) throw notFinite(op, scores[i], i, experts);
        }
    }

    static void requireFinite(String op, double[] values, int experts) {
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) throw notFinite(op, values[i], i, experts);
        }
    }

    private static Moe4jException notFinite(String op, double value, int flat, int experts) {
        return new Moe4jException(op + ": score " + value + " at token " + flat / experts + ", expert "
                + flat % experts + " is not finite; routing needs finite scores");
    }
}
