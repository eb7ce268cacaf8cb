package org.moe4j.infer;

import org.moe4j.common.Moe4jException;

/**
 * A generation request with a bad parameter (a NaN temperature, a negative top-k, an empty prompt...). It names
 * the parameter, so a server can answer 400 with the parameter in the error, and a CLI can point at the flag.
 */
public final class InvalidRequestException extends Moe4jException {
    private final String parameter;

    public InvalidRequestException(String parameter, String problem) {
        super(parameter + ": " + problem);
        this.parameter = parameter;
    }

    /** The parameter at fault, as the API spells it (e.g. {@code temperature}, {@code top_p}). */
    public String parameter() {
        return parameter;
    }
}
