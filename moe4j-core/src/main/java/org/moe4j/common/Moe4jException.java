package org.moe4j.common;

/**
 * The one unchecked exception type moe4j raises for misuse and bad input. Its message says what was wrong,
 * where, and how to fix it; the CLI prints it in one line.
 */
public class Moe4jException extends RuntimeException {
    public Moe4jException(String message) {
        super(message);
    }

    public Moe4jException(String message, Throwable cause) {
        super(message, cause);
    }
}
