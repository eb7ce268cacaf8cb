package org.moe4j.kernel;

import java.lang.System.Logger.Level;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.moe4j.common.Moe4jException;

/**
 * Which kernel implementation runs: the Vector API fast paths, or the scalar references. Chosen once, at first
 * use, and logged. {@code -Dmoe4j.backend=scalar} forces the references (to rule out a fast-path bug);
 * F64 tensors always take the reference path, whatever the backend.
 */
public enum Backend {
    VECTOR,
    SCALAR;

    /** The float species every fast kernel uses: the widest the CPU supports. */
    public static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

    private static final Backend CURRENT = choose();

    public static Backend current() {
        return CURRENT;
    }

    /** True when fast paths should run for float32 data. */
    public static boolean vector() {
        return CURRENT == VECTOR;
    }

    private static Backend choose() {
        String forced = System.getProperty("moe4j.backend", "").trim().toLowerCase(Locale.ROOT);
        Backend chosen = switch (forced) {
            case "scalar" -> SCALAR;
            case "", "vector" -> FLOATS.length() > 1 ? VECTOR : SCALAR;
            default -> throw new Moe4jException(
                    "-Dmoe4j.backend=" + forced + " is not a backend; use 'vector' or 'scalar'");
        };
        System.getLogger("org.moe4j.kernel").log(Level.DEBUG,
                "moe4j kernel backend: {0} ({1}-bit float vectors, {2} lanes)",
                chosen, FLOATS.vectorBitSize(), FLOATS.length());
        return chosen;
    }

    /** One line for logs and {@code moe4j info}. */
    public static String describe() {
        return CURRENT + " (" + FLOATS.vectorBitSize() + "-bit float vectors, " + FLOATS.length() + " lanes, "
                + Parallel.threads() + (Parallel.threads() == 1 ? " thread)" : " threads)");
    }
}
