package org.moe4j.infer;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a Jinja template into text and tag tokens, applying whitespace control as Hugging Face transformers
 * configures Jinja: {@code trim_blocks} (the first newline after a block or comment tag is dropped) and
 * {@code lstrip_blocks} (spaces and tabs before a block or comment tag at the start of a line are dropped), plus
 * the explicit {@code -} markers ({@code {%-}, {@code -%}}, {@code {{-}, {@code -}}}) that strip all whitespace.
 */
final class JinjaLexer {
    enum Kind { TEXT, OUTPUT_BEGIN, OUTPUT_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    /** One token; {@code pos} is its offset in the template, for error messages. */
    record Token(Kind kind, String text, int pos) {
        boolean is(Kind k, String t) {
            return kind == k && text.equals(t);
        }

        boolean isName(String t) {
            return is(Kind.NAME, t);
        }

        boolean isOp(String t) {
            return is(Kind.OP, t);
        }
    }

    private static final String[] OPERATORS = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~",
        "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "=", "<", ">"};

    private final String src;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;

    private JinjaLexer(String src) {
        this.src = src;
    }

    static List<Token> tokenize(String src) {
        JinjaLexer lexer = new JinjaLexer(src);
        lexer.run();
        return lexer.tokens;
    }

    private TemplateException error(String problem, int at) {
        return new TemplateException(problem, src, at);
    }

    private void run() {
        // keep_trailing_newline=False (Jinja's default, kept by transformers): one final newline is dropped
        int templateEnd = src.endsWith("\r\n") ? src.length() - 2 : src.endsWith("\n") ? src.length() - 1 : src.length();
        boolean stripNextText = false; // a '-' closed the previous tag
        boolean trimNextNewline = false; // trim_blocks after a block or comment tag
        while (pos < src.length()) {
            int tag = nextTagStart(pos);
            int textEnd = tag < 0 ? Math.max(pos, templateEnd) : tag;
            int textStart = pos;
            if (stripNextText) {
                while (textStart < textEnd && JinjaValues.isSpace(src.charAt(textStart))) textStart++;
            } else if (trimNextNewline && textStart < textEnd) {
                if (src.charAt(textStart) == '\n') textStart++;
                else if (src.startsWith("\r\n", textStart) && textStart + 1 < textEnd) textStart += 2;
            }
            if (tag >= 0) {
                char marker = tag + 2 < src.length() ? src.charAt(tag + 2) : ' ';
                char kind = src.charAt(tag + 1);
                if (marker == '-') {
                    while (textEnd > textStart && JinjaValues.isSpace(src.charAt(textEnd - 1))) textEnd--;
                } else if (kind != '{' && marker != '+') {
                    // lstrip_blocks: only spaces/tabs between the line start and the tag
                    int k = textEnd;
                    while (k > textStart && (src.charAt(k - 1) == ' ' || src.charAt(k - 1) == '\t')) k--;
                    boolean lineStart = k == 0 || src.charAt(k - 1) == '\n';
                    if (lineStart) textEnd = k;
                }
            }
            if (textEnd > textStart) tokens.add(new Token(Kind.TEXT, src.substring(textStart, textEnd), textStart));
            if (tag < 0) break;
            char kind = src.charAt(tag + 1);
            pos = tag + 2;
            if (pos < src.length() && (src.charAt(pos) == '-' || src.charAt(pos) == '+')) pos++;
            if (kind == '#') {
                int end = src.indexOf("#}", pos);
                if (end < 0) throw error("comment '{#' is never closed with '#}'", tag);
                stripNextText = end > pos && src.charAt(end - 1) == '-';
                trimNextNewline = true;
                pos = end + 2;
                continue;
            }
            boolean block = kind == '%';
            tokens.add(new Token(block ? Kind.BLOCK_BEGIN : Kind.OUTPUT_BEGIN, block ? "{%" : "{{", tag));
            stripNextText = lexTag(block, tag);
            trimNextNewline = block;
        }
        tokens.add(new Token(Kind.EOF, "", src.length()));
    }

    private int nextTagStart(int from) {
        int i = from;
        while (true) {
            int k = src.indexOf('{', i);
            if (k < 0 || k + 1 >= src.length()) return -1;
            char c = src.charAt(k + 1);
            if (c == '{' || c == '%' || c == '#') return k;
            i = k + 1;
        }
    }

    /** Lexes the inside of a tag up to its end; returns whether the end had a '-' marker. */
    private boolean lexTag(boolean block, int tagStart) {
        String close = block ? "%}" : "}}";
        int depth = 0;
        while (true) {
            while (pos < src.length() && JinjaValues.isSpace(src.charAt(pos))) pos++;
            if (pos >= src.length()) {
                throw error("tag opened here is never closed with '" + close + "'", tagStart);
            }
            if (depth == 0) {
                boolean dash = src.startsWith("-" + close, pos);
                if (dash || src.startsWith(close, pos)) {
                    tokens.add(new Token(block ? Kind.BLOCK_END : Kind.OUTPUT_END, close, pos));
                    pos += dash ? 3 : 2;
                    return dash;
                }
            }
            char c = src.charAt(pos);
            int start = pos;
            if (Character.isLetter(c) || c == '_') {
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) pos++;
                tokens.add(new Token(Kind.NAME, src.substring(start, pos), start));
            } else if (Character.isDigit(c)) {
                lexNumber(start);
            } else if (c == '\'' || c == '"') {
                tokens.add(new Token(Kind.STRING, lexString(c, start), start));
            } else {
                String op = null;
                for (String o : OPERATORS) {
                    if (src.startsWith(o, pos)) {
                        op = o;
                        break;
                    }
                }
                if (op == null) throw error("unexpected character '" + c + "' in a tag", pos);
                if (op.equals("(") || op.equals("[") || op.equals("{")) depth++;
                if (op.equals(")") || op.equals("]") || op.equals("}")) depth = Math.max(0, depth - 1);
                tokens.add(new Token(Kind.OP, op, start));
                pos += op.length();
            }
        }
    }

    private void lexNumber(int start) {
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) pos++;
        boolean isFloat = false;
        if (pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            isFloat = true;
            pos++;
            while (pos < src.length() && Character.isDigit(src.charAt(pos))) pos++;
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int k = pos + 1;
            if (k < src.length() && (src.charAt(k) == '+' || src.charAt(k) == '-')) k++;
            if (k < src.length() && Character.isDigit(src.charAt(k))) {
                isFloat = true;
                pos = k;
                while (pos < src.length() && Character.isDigit(src.charAt(pos))) pos++;
            }
        }
        tokens.add(new Token(isFloat ? Kind.FLOAT : Kind.INT, src.substring(start, pos), start));
    }

    /** A string literal with Python's escapes decoded (as Jinja decodes them). */
    private String lexString(char quote, int start) {
        StringBuilder sb = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= src.length()) throw error("string literal is never closed", start);
            char c = src.charAt(pos++);
            if (c == quote) return sb.toString();
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            if (pos >= src.length()) throw error("string literal is never closed", start);
            char e = src.charAt(pos++);
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case '\\' -> sb.append('\\');
                case '\'' -> sb.append('\'');
                case '"' -> sb.append('"');
                case 'a' -> sb.append('\u0007');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'v' -> sb.append('\u000B');
                case '\n' -> { } // line continuation
                case 'x' -> sb.appendCodePoint(hex(2, start));
                case 'u' -> sb.appendCodePoint(hex(4, start));
                case 'U' -> sb.appendCodePoint(hex(8, start));
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        for (int k = 0; k < 2 && pos < src.length() && src.charAt(pos) >= '0' && src.charAt(pos) <= '7'; k++) {
                            v = v * 8 + (src.charAt(pos++) - '0');
                        }
                        sb.append((char) v);
                    } else {
                        sb.append('\\').append(e); // Python keeps unknown escapes as written
                    }
                }
            }
        }
    }

    private int hex(int digits, int start) {
        if (pos + digits > src.length()) throw error("truncated escape in string literal", start);
        try {
            int v = Integer.parseUnsignedInt(src.substring(pos, pos + digits), 16);
            if (v > Character.MAX_CODE_POINT) throw error("escape out of Unicode range in string literal", start);
            pos += digits;
            return v;
        } catch (NumberFormatException e) {
            throw error("bad hex escape in string literal", start);
        }
    }
}
