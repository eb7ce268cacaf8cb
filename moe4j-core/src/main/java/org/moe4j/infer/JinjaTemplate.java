package org.moe4j.infer;

import java.util.List;
import java.util.Map;

/**
 * A Jinja template in the subset Hugging Face chat templates use, parsed once and rendered many times (thread
 * safe: each render has its own state). Whitespace follows transformers' settings (trim_blocks, lstrip_blocks);
 * autoescaping is off. Supported: {@code {{ }}}, if/elif/else, for (with loop.*, else, an if filter), set
 * (including namespace attributes and block set), literals, lists, dicts, attribute/subscript/slice, calls,
 * Python operators, the filters in {@link JinjaBuiltins#FILTERS}, the tests in {@link JinjaBuiltins#TESTS}, the
 * common str/dict methods, and globals {@code raise_exception}, {@code namespace}, {@code range}, {@code dict}.
 * Anything else is a {@link TemplateException} naming it and its line and column.
 */
public final class JinjaTemplate {
    /**
     * Bounds on one render, so a hostile template cannot hang or exhaust memory: output (and any built string or
     * list) at most {@code maxOutputChars}, at most {@code maxSteps} evaluation steps, nesting at most
     * {@code maxDepth}.
     */
    public record Limits(long maxOutputChars, long maxSteps, int maxDepth) {
        public Limits {
            if (maxOutputChars <= 0 || maxSteps <= 0 || maxDepth <= 0) {
                throw new IllegalArgumentException("template limits must be positive: " + maxOutputChars + ", "
                        + maxSteps + ", " + maxDepth);
            }
        }

        /** 4M characters, 5M steps, depth 100: far above any real chat template, bounded all the same. */
        public static final Limits DEFAULT = new Limits(4L << 20, 5_000_000, 100);
    }

    private final String source;
    private final Limits limits;
    private final List<JinjaNode> nodes;

    private JinjaTemplate(String source, Limits limits) {
        this.source = source;
        this.limits = limits;
        this.nodes = JinjaParser.parse(source, limits.maxDepth());
    }

    /** Parses {@code source}; throws TemplateException for bad or unsupported syntax. */
    public static JinjaTemplate parse(String source) {
        return parse(source, Limits.DEFAULT);
    }

    /** Parses {@code source} with the given limits. */
    public static JinjaTemplate parse(String source, Limits limits) {
        if (source.length() > limits.maxOutputChars()) {
            throw new TemplateException.LimitExceeded("template longer than " + limits.maxOutputChars()
                    + " characters", source, 0);
        }
        return new JinjaTemplate(source, limits);
    }

    /**
     * Renders with these variables (String, Number, Boolean, null, List, Map values; Integer and Float are widened).
     */
    public String render(Map<String, ?> variables) {
        @SuppressWarnings("unchecked")
        Map<String, Object> vars = (Map<String, Object>) variables;
        return new JinjaInterpreter(source, limits).render(nodes, vars);
    }

    /** The template text. */
    public String source() {
        return source;
    }
}
