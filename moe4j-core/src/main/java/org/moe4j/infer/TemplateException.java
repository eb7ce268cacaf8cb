package org.moe4j.infer;

import org.moe4j.common.Moe4jException;

/**
 * A chat template that cannot be parsed or rendered: bad syntax, an unsupported filter or tag, a type error, a
 * limit reached, or the template's own {@code raise_exception}. The message names the line and column in the
 * template, so the model's tokenizer_config.json can be fixed (or a simpler template given).
 */
public class TemplateException extends Moe4jException {
    private final int line;
    private final int column;

    TemplateException(String problem, String source, int offset) {
        this(problem, lineOf(source, offset), columnOf(source, offset));
    }

    private TemplateException(String problem, int line, int column) {
        super("chat template, line " + line + " column " + column + ": " + problem);
        this.line = line;
        this.column = column;
    }

    /** The 1-based line of the template where the problem is. */
    public int line() {
        return line;
    }

    /** The 1-based column of the template where the problem is. */
    public int column() {
        return column;
    }

    static int lineOf(String source, int offset) {
        int line = 1;
        for (int i = 0; i < Math.min(offset, source.length()); i++) if (source.charAt(i) == '\n') line++;
        return line;
    }

    static int columnOf(String source, int offset) {
        int end = Math.min(offset, source.length());
        int lineStart = source.lastIndexOf('\n', end - 1) + 1;
        return end - lineStart + 1;
    }

    /** The template called {@code raise_exception(message)}: the conversation is one it refuses (a client error). */
    public static final class Raised extends TemplateException {
        private final String templateMessage;

        Raised(String templateMessage, String source, int offset) {
            super("the template refused the conversation: " + templateMessage, source, offset);
            this.templateMessage = templateMessage;
        }

        /** The message the template passed to raise_exception. */
        public String templateMessage() {
            return templateMessage;
        }
    }

    /** Rendering ran past one of {@link JinjaTemplate.Limits}: a template or input too large or looping too long. */
    public static final class LimitExceeded extends TemplateException {
        LimitExceeded(String problem, String source, int offset) {
            super(problem, source, offset);
        }
    }
}
