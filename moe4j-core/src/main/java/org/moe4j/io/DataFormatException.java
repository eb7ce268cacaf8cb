package org.moe4j.io;

import org.moe4j.common.Moe4jException;

/**
 * A data file that cannot be read as what it claims to be: truncated, corrupt, the wrong kind of file, or values
 * that do not parse. The message names the file, the field (a header field, or a line and column) and what was
 * wrong, and says how to fix it, e.g. {@code train-images-idx3-ubyte.gz: dims: the header declares 47040000
 * values but the data ends after 1000; the file is truncated: download it again}.
 */
public final class DataFormatException extends Moe4jException {
    private final String file;
    private final String field;

    public DataFormatException(String file, String field, String problem, String fix) {
        super(file + ": " + field + ": " + problem + (fix == null || fix.isEmpty() ? "" : "; " + fix));
        this.file = file;
        this.field = field;
    }

    public DataFormatException(String file, String field, String problem, String fix, Throwable cause) {
        super(file + ": " + field + ": " + problem + (fix == null || fix.isEmpty() ? "" : "; " + fix), cause);
        this.file = file;
        this.field = field;
    }

    /** The file (or resource) that was being read, as given by the caller. */
    public String file() {
        return file;
    }

    /** The header field, or {@code line L, column C (name)}, where reading failed. */
    public String field() {
        return field;
    }
}
