package org.moe4j.io;

import org.moe4j.common.Moe4jException;

/**
 * A model or checkpoint file that is malformed, truncated or inconsistent. The message names the file, the field
 * (a tensor and its entry, a header part, a JSON key) and what was wrong, so one line is enough to act on.
 */
public class FileFormatException extends Moe4jException {
    private final String file;
    private final String field;
    private final String problem;

    public FileFormatException(String file, String field, String problem) {
        this(file, field, problem, null);
    }

    public FileFormatException(String file, String field, String problem, Throwable cause) {
        super(file + ": " + field + ": " + problem, cause);
        this.file = file;
        this.field = field;
        this.problem = problem;
    }

    /** The file (or, for in-memory data, the name the caller gave it). */
    public String file() {
        return file;
    }

    /** Where in the file: e.g. {@code header length} or {@code tensor 'w' data_offsets}. */
    public String field() {
        return field;
    }

    /** What was wrong. */
    public String problem() {
        return problem;
    }
}
