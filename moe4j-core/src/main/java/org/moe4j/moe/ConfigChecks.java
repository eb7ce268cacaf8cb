package org.moe4j.moe;

import org.moe4j.common.Moe4jException;

/**
 * The checks router configs share, so one misuse reads the same in every router: {@code "<router>: <what> must be
 * ..., got <value>"}. Each takes the router's name as its message begins, e.g. "top-k router".
 */
final class ConfigChecks {
    private ConfigChecks() {}

    /** The model width and the expert count are positive. */
    static void dimAndExperts(String router, int dim, int experts) {
        if (dim <= 0 || experts <= 0) {
            throw new Moe4jException(router + ": dim and experts must be positive, got dim=" + dim + ", experts="
                    + experts);
        }
    }

    /** {@code min <= value <= max}, e.g. a k of 1..experts. */
    static void inRange(String router, String name, int value, int min, int max) {
        if (value < min || value > max) {
            throw new Moe4jException(router + ": " + name + " must be in [" + min + ", " + max + "], got " + value);
        }
    }

    static void atLeast(String router, String name, int value, int min) {
        if (value < min) throw new Moe4jException(router + ": " + name + " must be >= " + min + ", got " + value);
    }

    /** A finite value above 0 (a scale, a tolerance, a width); NaN fails. */
    static void positive(String router, String name, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new Moe4jException(router + ": " + name + " must be positive and finite, got " + value);
        }
    }

    /** A finite value of at least 0 (a loss weight, where 0 turns the loss off); NaN fails. */
    static void nonNegative(String router, String name, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new Moe4jException(router + ": " + name + " must be finite and >= 0, got " + value);
        }
    }

    /** A choice (an enum) that has no default. */
    static void given(String router, String name, Object value) {
        if (value == null) throw new Moe4jException(router + ": " + name + " must be given");
    }
}
