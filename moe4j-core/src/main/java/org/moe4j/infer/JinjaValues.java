package org.moe4j.infer;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The value model of the template engine and Python's semantics for it. Values are: {@code null} (None),
 * {@link Undefined}, Boolean, Long, Double, String, List, Map (insertion-ordered), {@link Namespace} and
 * {@link Callable}. Printing, truth, equality and {@code tojson} follow Python, because the reference renderer
 * (transformers) is Python's Jinja.
 */
final class JinjaValues {
    private JinjaValues() {}

    /** A name or attribute that does not exist: prints as nothing, is false, iterates as empty. */
    record Undefined(String name) {}

    /** The mutable object {@code namespace(...)} returns, the one thing a template may assign attributes on. */
    static final class Namespace {
        final Map<String, Object> attributes = new LinkedHashMap<>();
    }

    /** A global function or a bound method. */
    @FunctionalInterface
    interface Callable {
        Object call(List<Object> args, Map<String, Object> kwargs);
    }

    /** Python's {@code str.isspace} for one char (also what Jinja's whitespace control strips). */
    static boolean isSpace(char c) {
        return Character.isWhitespace(c) || c == '\u00A0' || c == '\u2007' || c == '\u202F' || c == '\u0085';
    }

    /** Converts caller-supplied Java values (Integer, Float, arrays of records...) into the value model. */
    static Object normalize(Object v) {
        return switch (v) {
            case null -> null;
            case Integer i -> (long) i;
            case Short s -> (long) s;
            case Byte b -> (long) b;
            case Float f -> (double) f;
            case Map<?, ?> m -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                m.forEach((k, val) -> out.put(normalize(k), normalize(val)));
                yield out;
            }
            case List<?> l -> {
                List<Object> out = new ArrayList<>(l.size());
                for (Object o : l) out.add(normalize(o));
                yield out;
            }
            default -> v;
        };
    }

    static String typeName(Object v) {
        return switch (v) {
            case null -> "NoneType";
            case Undefined u -> "Undefined";
            case Boolean b -> "bool";
            case Long l -> "int";
            case Double d -> "float";
            case String s -> "str";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Namespace n -> "Namespace";
            case Callable c -> "function";
            default -> v.getClass().getSimpleName();
        };
    }

    static boolean truthy(Object v) {
        return switch (v) {
            case null -> false;
            case Undefined u -> false;
            case Boolean b -> b;
            case Long l -> l != 0;
            case Double d -> d != 0.0;
            case String s -> !s.isEmpty();
            case List<?> l -> !l.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            default -> true;
        };
    }

    /** Python's {@code str(v)}; undefined prints as the empty string (Jinja's default Undefined). */
    static String str(Object v) {
        return switch (v) {
            case null -> "None";
            case Undefined u -> "";
            case String s -> s;
            case Boolean b -> b ? "True" : "False";
            case Double d -> pyFloat(d);
            default -> repr(v);
        };
    }

    /** Python's {@code repr(v)}. */
    static String repr(Object v) {
        StringBuilder sb = new StringBuilder();
        repr(v, sb);
        return sb.toString();
    }

    private static void repr(Object v, StringBuilder sb) {
        switch (v) {
            case String s -> reprString(s, sb);
            case List<?> l -> {
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) sb.append(", ");
                    repr(l.get(i), sb);
                }
                sb.append(']');
            }
            case Map<?, ?> m -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) sb.append(", ");
                    first = false;
                    repr(e.getKey(), sb);
                    sb.append(": ");
                    repr(e.getValue(), sb);
                }
                sb.append('}');
            }
            case Namespace n -> sb.append("<Namespace ").append(n.attributes.keySet()).append('>');
            case Callable c -> sb.append("<function>");
            case Long l -> sb.append(l);
            case null -> sb.append("None");
            default -> sb.append(str(v));
        }
    }

    private static void reprString(String s, StringBuilder sb) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        sb.append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c == quote) sb.append('\\').append(c);
                    else if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append(quote);
    }

    /** Python's {@code repr(float)}: shortest round-trip digits, exponent form outside [1e-4, 1e16). */
    static String pyFloat(double d) {
        if (Double.isNaN(d)) return "nan";
        if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        String digits = bd.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - bd.scale();
        String sign = d < 0 ? "-" : "";
        if (exponent >= -4 && exponent < 16) {
            String plain = bd.abs().toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        String exp = String.format("%02d", Math.abs(exponent));
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + exp;
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    /** Numbers widened the Python way (bool is an int). */
    static Object numeric(Object v) {
        return v instanceof Boolean b ? (b ? 1L : 0L) : v;
    }

    static double asDouble(Object v) {
        Object n = numeric(v);
        return n instanceof Long l ? l : (Double) n;
    }

    /** Python's {@code ==}. */
    static boolean pyEquals(Object a, Object b) {
        if (a == null || b == null) return a == b;
        if (a instanceof Undefined || b instanceof Undefined) return a instanceof Undefined && b instanceof Undefined;
        if (isNumber(a) && isNumber(b)) {
            Object x = numeric(a);
            Object y = numeric(b);
            if (x instanceof Long l && y instanceof Long m) return l.longValue() == m.longValue();
            return asDouble(x) == asDouble(y);
        }
        if (a instanceof List<?> l && b instanceof List<?> m) {
            if (l.size() != m.size()) return false;
            for (int i = 0; i < l.size(); i++) if (!pyEquals(l.get(i), m.get(i))) return false;
            return true;
        }
        if (a instanceof Map<?, ?> l && b instanceof Map<?, ?> m) {
            if (l.size() != m.size()) return false;
            for (Map.Entry<?, ?> e : l.entrySet()) {
                Object key = findKey(m, e.getKey());
                if (key == null && !m.containsKey(null)) return false;
                if (!pyEquals(e.getValue(), m.get(key))) return false;
            }
            return true;
        }
        return a.equals(b);
    }

    /** The key in {@code m} that equals {@code key} the Python way (1 == 1.0 == True), or null. */
    static Object findKey(Map<?, ?> m, Object key) {
        if (m.containsKey(key)) return key;
        if (isNumber(key)) {
            for (Object k : m.keySet()) if (isNumber(k) && pyEquals(k, key)) return k;
        }
        return null;
    }

    /** Python's {@code <}-style ordering; throws IllegalArgumentException for unorderable types. */
    static int compare(Object a, Object b) {
        if (isNumber(a) && isNumber(b)) {
            Object x = numeric(a);
            Object y = numeric(b);
            if (x instanceof Long l && y instanceof Long m) return Long.compare(l, m);
            return Double.compare(asDouble(x), asDouble(y));
        }
        if (a instanceof String s && b instanceof String t) return Integer.signum(compareCodePoints(s, t));
        if (a instanceof List<?> l && b instanceof List<?> m) {
            for (int i = 0; i < Math.min(l.size(), m.size()); i++) {
                if (!pyEquals(l.get(i), m.get(i))) return compare(l.get(i), m.get(i));
            }
            return Integer.compare(l.size(), m.size());
        }
        throw new IllegalArgumentException("'<' not supported between instances of '" + typeName(a) + "' and '"
                + typeName(b) + "'");
    }

    private static int compareCodePoints(String s, String t) {
        Iterator<Integer> i = s.codePoints().iterator();
        Iterator<Integer> j = t.codePoints().iterator();
        while (i.hasNext() && j.hasNext()) {
            int c = Integer.compare(i.next(), j.next());
            if (c != 0) return c;
        }
        return Boolean.compare(i.hasNext(), j.hasNext());
    }

    /**
     * {@code tojson} as transformers defines it: {@code json.dumps(v, ensure_ascii=False, indent=indent,
     * separators=separators, sort_keys=sort_keys)}.
     */
    static String toJson(Object v, Long indent, String itemSep, String keySep, boolean sortKeys) {
        if (itemSep == null) itemSep = indent == null ? ", " : ",";
        if (keySep == null) keySep = ": ";
        StringBuilder sb = new StringBuilder();
        toJson(v, indent, itemSep, keySep, sortKeys, 0, sb);
        return sb.toString();
    }

    private static void toJson(Object v, Long indent, String itemSep, String keySep, boolean sortKeys, int level,
                               StringBuilder sb) {
        switch (v) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case Long l -> sb.append(l);
            case Double d -> sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : pyFloat(d));
            case String s -> jsonString(s, sb);
            case List<?> l -> {
                if (l.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) sb.append(itemSep);
                    newline(indent, level + 1, sb);
                    toJson(l.get(i), indent, itemSep, keySep, sortKeys, level + 1, sb);
                }
                newline(indent, level, sb);
                sb.append(']');
            }
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                List<Object> keys = new ArrayList<>(m.keySet());
                if (sortKeys) keys.sort(JinjaValues::compare);
                sb.append('{');
                for (int i = 0; i < keys.size(); i++) {
                    if (i > 0) sb.append(itemSep);
                    newline(indent, level + 1, sb);
                    Object k = keys.get(i);
                    jsonString(k instanceof String s ? s : k instanceof Boolean b ? (b ? "true" : "false")
                            : k == null ? "null" : str(k), sb);
                    sb.append(keySep);
                    toJson(m.get(k), indent, itemSep, keySep, sortKeys, level + 1, sb);
                }
                newline(indent, level, sb);
                sb.append('}');
            }
            case Namespace n -> toJson(n.attributes, indent, itemSep, keySep, sortKeys, level, sb);
            default -> throw new IllegalArgumentException("Object of type " + typeName(v) + " is not JSON serializable");
        }
    }

    private static void newline(Long indent, int level, StringBuilder sb) {
        if (indent == null) return;
        sb.append('\n');
        sb.append(" ".repeat((int) Math.max(0, indent * level)));
    }

    private static void jsonString(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
