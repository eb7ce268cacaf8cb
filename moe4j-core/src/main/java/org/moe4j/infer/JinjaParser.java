package org.moe4j.infer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.moe4j.infer.JinjaLexer.Kind;
import org.moe4j.infer.JinjaLexer.Token;
import org.moe4j.infer.JinjaNode.Expr;

/**
 * Recursive-descent parser for the Jinja subset chat templates use, with Jinja's operator precedence (lowest
 * first): conditional, or, and, not, comparison, + -, ~, * / // %, **, unary minus, then primary with postfix
 * attribute/subscript/call, filters and tests. Anything else is an error naming the construct and its position.
 */
final class JinjaParser {
    private static final Set<String> COMPARE_OPS = Set.of("==", "!=", "<", ">", "<=", ">=");

    private final String src;
    private final List<Token> tokens;
    private final int maxDepth;
    private int index;
    private int depth;

    private JinjaParser(String src, int maxDepth) {
        this.src = src;
        this.tokens = JinjaLexer.tokenize(src);
        this.maxDepth = maxDepth;
    }

    static List<JinjaNode> parse(String src, int maxDepth) {
        JinjaParser p = new JinjaParser(src, maxDepth);
        List<JinjaNode> body = p.parseBody(Set.of());
        if (p.peek().kind() != Kind.EOF) {
            Token t = p.tokens.get(p.index + 1);
            throw p.error("'" + t.text() + "' without a matching opening tag", t.pos());
        }
        return body;
    }

    private TemplateException error(String problem, int at) {
        return new TemplateException(problem, src, at);
    }

    private Token peek() {
        return tokens.get(index);
    }

    private Token peekAt(int ahead) {
        return tokens.get(Math.min(index + ahead, tokens.size() - 1));
    }

    private Token next() {
        return tokens.get(index++);
    }

    private Token expect(Kind kind, String text, String what) {
        Token t = peek();
        if (t.kind() != kind || (text != null && !t.text().equals(text))) {
            throw error("expected " + what + " but found " + describe(t), t.pos());
        }
        return next();
    }

    private static String describe(Token t) {
        return switch (t.kind()) {
            case EOF -> "the end of the template";
            case BLOCK_END, OUTPUT_END -> "the end of the tag";
            case STRING -> "a string";
            default -> "'" + t.text() + "'";
        };
    }

    private void enter(int at) {
        if (++depth > maxDepth) {
            throw new TemplateException.LimitExceeded("nesting deeper than " + maxDepth + " levels", src, at);
        }
    }

    // ---- statements

    /** Parses nodes until a block tag whose name is in {@code endTags} (left unconsumed: index at its '{%'). */
    private List<JinjaNode> parseBody(Set<String> endTags) {
        List<JinjaNode> nodes = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.kind()) {
                case EOF -> {
                    if (!endTags.isEmpty()) {
                        throw error("the template ended inside a block; expected {% " + String.join(" or ", endTags.stream().sorted().toList()) + " %}", t.pos());
                    }
                    return nodes;
                }
                case TEXT -> nodes.add(new JinjaNode.Text(next().pos(), t.text()));
                case OUTPUT_BEGIN -> {
                    next();
                    Expr e = parseExpression();
                    expect(Kind.OUTPUT_END, null, "'}}'");
                    nodes.add(new JinjaNode.Output(t.pos(), e));
                }
                case BLOCK_BEGIN -> {
                    Token name = peekAt(1);
                    if (name.kind() == Kind.NAME && endTags.contains(name.text())) return nodes;
                    if (name.kind() == Kind.NAME && isEndTag(name.text())) {
                        if (endTags.isEmpty()) return nodes;
                        throw error("{% " + name.text() + " %} where {% " + String.join(" or ",
                                endTags.stream().sorted().toList()) + " %} was expected", name.pos());
                    }
                    next();
                    nodes.add(parseStatement(t));
                }
                default -> throw error("unexpected " + describe(t), t.pos());
            }
        }
    }

    private static boolean isEndTag(String name) {
        return name.startsWith("end") || name.equals("else") || name.equals("elif");
    }

    private JinjaNode parseStatement(Token begin) {
        Token name = next();
        if (name.kind() != Kind.NAME) throw error("expected a tag name after '{%' but found " + describe(name), name.pos());
        enter(name.pos());
        try {
            return switch (name.text()) {
                case "if" -> parseIf(begin);
                case "for" -> parseFor(begin);
                case "set" -> parseSet(begin);
                default -> throw error("unsupported tag '" + name.text() + "' (this engine knows if, for, set)", name.pos());
            };
        } finally {
            depth--;
        }
    }

    private void closeTag(String name) {
        expect(Kind.BLOCK_BEGIN, null, "{% " + name + " %}");
        expect(Kind.NAME, name, "'" + name + "'");
        expect(Kind.BLOCK_END, null, "'%}' after " + name);
    }

    private JinjaNode parseIf(Token begin) {
        List<Expr> conditions = new ArrayList<>();
        List<List<JinjaNode>> bodies = new ArrayList<>();
        List<JinjaNode> otherwise = List.of();
        conditions.add(parseExpression());
        expect(Kind.BLOCK_END, null, "'%}' after the if condition");
        Set<String> ends = Set.of("elif", "else", "endif");
        bodies.add(parseBody(ends));
        while (true) {
            expect(Kind.BLOCK_BEGIN, null, "'{%'");
            Token tag = next();
            if (tag.text().equals("elif")) {
                conditions.add(parseExpression());
                expect(Kind.BLOCK_END, null, "'%}' after the elif condition");
                bodies.add(parseBody(ends));
            } else if (tag.text().equals("else")) {
                expect(Kind.BLOCK_END, null, "'%}' after else");
                otherwise = parseBody(Set.of("endif"));
                closeTag("endif");
                break;
            } else {
                expect(Kind.BLOCK_END, null, "'%}' after endif");
                break;
            }
        }
        return new JinjaNode.If(begin.pos(), conditions, bodies, otherwise);
    }

    private JinjaNode parseFor(Token begin) {
        List<String> targets = new ArrayList<>();
        targets.add(expect(Kind.NAME, null, "a loop variable").text());
        while (peek().isOp(",")) {
            next();
            targets.add(expect(Kind.NAME, null, "a loop variable").text());
        }
        expect(Kind.NAME, "in", "'in'");
        Expr iterable = parseOr();
        Expr filter = null;
        if (peek().isName("if")) {
            next();
            filter = parseOr();
        }
        if (peek().isName("recursive")) throw error("recursive loops are not supported", peek().pos());
        expect(Kind.BLOCK_END, null, "'%}' after the for header");
        List<JinjaNode> body = parseBody(Set.of("else", "endfor"));
        List<JinjaNode> otherwise = List.of();
        expect(Kind.BLOCK_BEGIN, null, "'{%'");
        if (next().text().equals("else")) {
            expect(Kind.BLOCK_END, null, "'%}' after else");
            otherwise = parseBody(Set.of("endfor"));
            closeTag("endfor");
        } else {
            expect(Kind.BLOCK_END, null, "'%}' after endfor");
        }
        return new JinjaNode.For(begin.pos(), targets, iterable, filter, body, otherwise);
    }

    private JinjaNode parseSet(Token begin) {
        Token name = expect(Kind.NAME, null, "a variable name after set");
        String attribute = null;
        if (peek().isOp(".")) {
            next();
            attribute = expect(Kind.NAME, null, "an attribute name").text();
        }
        if (peek().kind() == Kind.BLOCK_END && attribute == null) {
            next();
            List<JinjaNode> body = parseBody(Set.of("endset"));
            closeTag("endset");
            return new JinjaNode.SetBlock(begin.pos(), name.text(), body);
        }
        if (peek().isOp(",")) throw error("tuple assignment in set is not supported", peek().pos());
        expect(Kind.OP, "=", "'=' in set");
        Expr value = parseExpression();
        expect(Kind.BLOCK_END, null, "'%}' after set");
        return new JinjaNode.Set(begin.pos(), name.text(), attribute, value);
    }

    // ---- expressions

    Expr parseExpression() {
        enter(peek().pos());
        try {
            Expr e = parseOr();
            if (peek().isName("if")) {
                int at = next().pos();
                Expr condition = parseOr();
                Expr otherwise = null;
                if (peek().isName("else")) {
                    next();
                    otherwise = parseExpression();
                }
                return new JinjaNode.Conditional(at, condition, e, otherwise);
            }
            return e;
        } finally {
            depth--;
        }
    }

    private Expr parseOr() {
        Expr left = parseAnd();
        while (peek().isName("or")) {
            int at = next().pos();
            left = new JinjaNode.Binary(at, "or", left, parseAnd());
        }
        return left;
    }

    private Expr parseAnd() {
        Expr left = parseNot();
        while (peek().isName("and")) {
            int at = next().pos();
            left = new JinjaNode.Binary(at, "and", left, parseNot());
        }
        return left;
    }

    private Expr parseNot() {
        if (peek().isName("not")) {
            int at = next().pos();
            enter(at);
            try {
                return new JinjaNode.Unary(at, "not", parseNot());
            } finally {
                depth--;
            }
        }
        return parseCompare();
    }

    private Expr parseCompare() {
        Expr first = parseAdd();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.kind() == Kind.OP && COMPARE_OPS.contains(t.text())) {
                next();
                ops.add(t.text());
            } else if (t.isName("in")) {
                next();
                ops.add("in");
            } else if (t.isName("not") && peekAt(1).isName("in")) {
                next();
                next();
                ops.add("not in");
            } else {
                break;
            }
            rest.add(parseAdd());
        }
        return ops.isEmpty() ? first : new JinjaNode.Compare(first.pos(), first, ops, rest);
    }

    private Expr parseAdd() {
        Expr left = parseConcat();
        while (peek().isOp("+") || peek().isOp("-")) {
            Token op = next();
            left = new JinjaNode.Binary(op.pos(), op.text(), left, parseConcat());
        }
        return left;
    }

    private Expr parseConcat() {
        Expr left = parseMul();
        while (peek().isOp("~")) {
            Token op = next();
            left = new JinjaNode.Binary(op.pos(), "~", left, parseMul());
        }
        return left;
    }

    private Expr parseMul() {
        Expr left = parsePow();
        while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
            Token op = next();
            left = new JinjaNode.Binary(op.pos(), op.text(), left, parsePow());
        }
        return left;
    }

    private Expr parsePow() {
        Expr left = parseUnary(true);
        while (peek().isOp("**")) {
            Token op = next();
            left = new JinjaNode.Binary(op.pos(), "**", left, parseUnary(true));
        }
        return left;
    }

    private Expr parseUnary(boolean withFilters) {
        Token t = peek();
        Expr e;
        if (t.isOp("-") || t.isOp("+")) {
            next();
            enter(t.pos());
            try {
                e = new JinjaNode.Unary(t.pos(), t.text(), parseUnary(false));
            } finally {
                depth--;
            }
        } else {
            e = parsePostfix(parsePrimary());
        }
        return withFilters ? parseFiltersAndTests(e) : e;
    }

    private Expr parsePrimary() {
        Token t = next();
        switch (t.kind()) {
            case NAME -> {
                return switch (t.text()) {
                    case "true", "True" -> new JinjaNode.Literal(t.pos(), Boolean.TRUE);
                    case "false", "False" -> new JinjaNode.Literal(t.pos(), Boolean.FALSE);
                    case "none", "None" -> new JinjaNode.Literal(t.pos(), null);
                    default -> new JinjaNode.Name(t.pos(), t.text());
                };
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder(t.text());
                while (peek().kind() == Kind.STRING) sb.append(next().text()); // implicit concatenation
                return new JinjaNode.Literal(t.pos(), sb.toString());
            }
            case INT -> {
                try {
                    return new JinjaNode.Literal(t.pos(), Long.parseLong(t.text()));
                } catch (NumberFormatException ex) {
                    throw error("integer literal too large: " + t.text(), t.pos());
                }
            }
            case FLOAT -> {
                return new JinjaNode.Literal(t.pos(), Double.parseDouble(t.text()));
            }
            case OP -> {
                switch (t.text()) {
                    case "(" -> {
                        if (peek().isOp(")")) {
                            next();
                            return new JinjaNode.ListExpr(t.pos(), List.of());
                        }
                        Expr e = parseExpression();
                        if (peek().isOp(",")) {
                            List<Expr> items = new ArrayList<>(List.of(e));
                            while (peek().isOp(",")) {
                                next();
                                if (peek().isOp(")")) break;
                                items.add(parseExpression());
                            }
                            e = new JinjaNode.ListExpr(t.pos(), items);
                        }
                        expect(Kind.OP, ")", "')'");
                        return e;
                    }
                    case "[" -> {
                        List<Expr> items = new ArrayList<>();
                        while (!peek().isOp("]")) {
                            items.add(parseExpression());
                            if (!peek().isOp(",")) break;
                            next();
                        }
                        expect(Kind.OP, "]", "']' or ','");
                        return new JinjaNode.ListExpr(t.pos(), items);
                    }
                    case "{" -> {
                        List<Expr> keys = new ArrayList<>();
                        List<Expr> values = new ArrayList<>();
                        while (!peek().isOp("}")) {
                            keys.add(parseExpression());
                            expect(Kind.OP, ":", "':' in a dict literal");
                            values.add(parseExpression());
                            if (!peek().isOp(",")) break;
                            next();
                        }
                        expect(Kind.OP, "}", "'}' or ','");
                        return new JinjaNode.DictExpr(t.pos(), keys, values);
                    }
                    default -> { }
                }
            }
            default -> { }
        }
        throw error("expected an expression but found " + describe(t), t.pos());
    }

    private Expr parsePostfix(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOp(".")) {
                next();
                Token name = next();
                if (name.kind() == Kind.NAME) {
                    e = new JinjaNode.Attr(t.pos(), e, name.text());
                } else if (name.kind() == Kind.INT) {
                    e = new JinjaNode.Item(t.pos(), e, new JinjaNode.Literal(name.pos(), Long.parseLong(name.text())));
                } else {
                    throw error("expected an attribute name after '.' but found " + describe(name), name.pos());
                }
            } else if (t.isOp("[")) {
                next();
                e = parseSubscript(t.pos(), e);
            } else if (t.isOp("(")) {
                e = parseCall(e);
            } else {
                return e;
            }
        }
    }

    private Expr parseSubscript(int at, Expr target) {
        Expr start = null;
        if (!peek().isOp(":")) {
            start = parseExpression();
            if (peek().isOp("]")) {
                next();
                return new JinjaNode.Item(at, target, start);
            }
        }
        expect(Kind.OP, ":", "']' or ':'");
        Expr stop = null;
        Expr step = null;
        if (!peek().isOp("]") && !peek().isOp(":")) stop = parseExpression();
        if (peek().isOp(":")) {
            next();
            if (!peek().isOp("]")) step = parseExpression();
        }
        expect(Kind.OP, "]", "']'");
        return new JinjaNode.Slice(at, target, start, stop, step);
    }

    private record Args(List<Expr> args, List<String> kwNames, List<Expr> kwValues) {}

    private Args parseArgs() {
        expect(Kind.OP, "(", "'('");
        List<Expr> args = new ArrayList<>();
        List<String> kwNames = new ArrayList<>();
        List<Expr> kwValues = new ArrayList<>();
        while (!peek().isOp(")")) {
            if (peek().kind() == Kind.NAME && peekAt(1).isOp("=")) {
                kwNames.add(next().text());
                next();
                kwValues.add(parseExpression());
            } else {
                if (!kwNames.isEmpty()) throw error("positional argument after a keyword argument", peek().pos());
                args.add(parseExpression());
            }
            if (!peek().isOp(",")) break;
            next();
        }
        expect(Kind.OP, ")", "')' or ','");
        return new Args(args, kwNames, kwValues);
    }

    private Expr parseCall(Expr callee) {
        int at = peek().pos();
        Args a = parseArgs();
        return new JinjaNode.Call(at, callee, a.args(), a.kwNames(), a.kwValues());
    }

    private Expr parseFiltersAndTests(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOp("|")) {
                next();
                Token name = expect(Kind.NAME, null, "a filter name after '|'");
                Args a = peek().isOp("(") ? parseArgs() : new Args(List.of(), List.of(), List.of());
                e = new JinjaNode.Filter(name.pos(), e, name.text(), a.args(), a.kwNames(), a.kwValues());
            } else if (t.isName("is")) {
                next();
                boolean negated = false;
                if (peek().isName("not")) {
                    next();
                    negated = true;
                }
                Token name = expect(Kind.NAME, null, "a test name after 'is'");
                List<Expr> args = List.of();
                if (peek().isOp("(")) {
                    args = parseArgs().args();
                } else if (startsTestArgument(peek())) {
                    args = List.of(parsePostfix(parsePrimary()));
                }
                e = new JinjaNode.Test(name.pos(), e, name.text(), args, negated);
            } else {
                return e;
            }
        }
    }

    /** Jinja lets a test take one bare argument ({@code x is sameas false}, {@code n is divisibleby 3}). */
    private static boolean startsTestArgument(Token t) {
        return switch (t.kind()) {
            case STRING, INT, FLOAT -> true;
            case NAME -> !Set.of("else", "or", "and", "if", "is", "in", "not").contains(t.text());
            case OP -> t.text().equals("[") || t.text().equals("{");
            default -> false;
        };
    }
}
