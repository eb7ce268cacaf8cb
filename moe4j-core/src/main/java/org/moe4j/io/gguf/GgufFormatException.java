package org.moe4j.io.gguf;

import org.moe4j.io.FileFormatException;

/**
 * A GGUF file that is malformed, truncated, inconsistent or beyond what moe4j reads. The message names the file,
 * the field (e.g. {@code tensor 'blk.0.ffn_up_exps' offset} or {@code metadata 'general.alignment'}) and what was
 * wrong.
 */
public final class GgufFormatException extends FileFormatException {
    public GgufFormatException(String file, String field, String problem) {
        super(file, field, problem);
    }

    public GgufFormatException(String file, String field, String problem, Throwable cause) {
        super(file, field, problem, cause);
    }
}
