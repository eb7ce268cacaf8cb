package org.moe4j.infer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.infer.JinjaValues.Callable;
import org.moe4j.infer.JinjaValues.Namespace;
import org.moe4j.infer.JinjaValues.Undefined;

/**
 * The filters, tests and Python methods chat templates use, with Jinja's and Python's semantics. A problem is
 * reported as an IllegalArgumentException whose message the interpreter prefixes with the template position.
 */
final class JinjaBuiltins {
    private JinjaBuiltins() {}

    /** The filters this engine implements (an unknown one is a clear error, never a silent pass-through). */
    static final List<String> FILTERS = List.of("abs", "capitalize", "count", "d", "default", "dictsort", "first",
            "float", "int", "items", "join", "last", "length", "list", "lower", "map", "reject", "rejectattr",
            "replace", "reverse", "safe", "select", "selectattr", "string", "tojson", "trim", "unique", "upper",
            "title");

    static final List<String> TESTS = List.of("boolean", "callable", "defined", "divisibleby", "eq", "equalto", "even",
            "false", "float", "ge", "gt", "in", "integer", "iterable", "le", "lower", "lt", "mapping", "ne", "none",
            "number", "odd", "sameas", "sequence", "string", "true", "undefined", "upper", "==", "!=", "<", ">", "<=",
            ">=");

    private static IllegalArgumentException bad(String message) {
        return new IllegalArgumentException(message);
    }

    private static Object arg(List<Object> args, Map<String, Object> kwargs, int i, String name, Object fallback) {
        if (i < args.size()) return args.get(i);
        if (kwargs.containsKey(name)) return kwargs.get(name);
        return fallback;
    }

    static String string(Object v) {
        return JinjaValues.str(v);
    }

    /** Python's {@code len}. */
    static long length(Object v) {
        return switch (v) {
            case String s -> s.codePointCount(0, s.length());
            case List<?> l -> l.size();
            case Map<?, ?> m -> m.size();
            case Undefined u -> 0;
            default -> throw bad("object of type '" + JinjaValues.typeName(v) + "' has no len()");
        };
    }

    /** Python's {@code list(v)}: the items a for loop visits. */
    static List<Object> iterate(Object v) {
        return switch (v) {
            case List<?> l -> new ArrayList<>(l);
            case Map<?, ?> m -> new ArrayList<>(m.keySet());
            case String s -> s.codePoints().mapToObj(Character::toString).map(x -> (Object) x).toList();
            case Undefined u -> List.of();
            default -> throw bad("'" + JinjaValues.typeName(v) + "' object is not iterable");
        };
    }

    static Object filter(JinjaInterpreter in, String name, Object v, List<Object> args, Map<String, Object> kwargs) {
        return switch (name) {
            case "abs" -> {
                Object n = JinjaValues.numeric(v);
                if (n instanceof Long l) yield Math.abs(l);
                if (n instanceof Double d) yield Math.abs(d);
                throw bad("bad operand type for abs(): '" + JinjaValues.typeName(v) + "'");
            }
            case "capitalize" -> {
                String s = string(v);
                yield s.isEmpty() ? s : s.substring(0, 1).toUpperCase() + s.substring(1).toLowerCase();
            }
            case "title" -> title(string(v));
            case "count", "length" -> length(v);
            case "d", "default" -> {
                Object fallback = arg(args, kwargs, 0, "default_value", "");
                boolean bool = JinjaValues.truthy(arg(args, kwargs, 1, "boolean", false));
                yield (v instanceof Undefined || (bool && !JinjaValues.truthy(v))) ? fallback : v;
            }
            case "dictsort" -> {
                if (!(v instanceof Map<?, ?> m)) throw bad("dictsort expects a dict, got " + JinjaValues.typeName(v));
                List<Object> keys = new ArrayList<>(m.keySet());
                keys.sort(JinjaValues::compare);
                List<Object> out = new ArrayList<>();
                for (Object k : keys) out.add(List.of(k, m.get(k)));
                yield out;
            }
            case "first" -> {
                List<Object> items = iterate(v);
                yield items.isEmpty() ? new Undefined("first of an empty sequence") : items.getFirst();
            }
            case "last" -> {
                List<Object> items = iterate(v);
                yield items.isEmpty() ? new Undefined("last of an empty sequence") : items.getLast();
            }
            case "float" -> {
                try {
                    yield v instanceof String s ? Double.parseDouble(s.strip()) : JinjaValues.asDouble(v);
                } catch (RuntimeException e) {
                    yield arg(args, kwargs, 0, "default", 0.0);
                }
            }
            case "int" -> {
                try {
                    if (v instanceof String s) yield Long.parseLong(s.strip());
                    Object n = JinjaValues.numeric(v);
                    yield n instanceof Double d ? (long) d.doubleValue() : (Long) n;
                } catch (RuntimeException e) {
                    yield arg(args, kwargs, 0, "default", 0L);
                }
            }
            case "items" -> {
                if (v instanceof Undefined) yield List.of();
                if (!(v instanceof Map<?, ?> m)) throw bad("can only get item pairs from a mapping, not " + JinjaValues.typeName(v));
                List<Object> out = new ArrayList<>();
                m.forEach((k, val) -> out.add(List.of(k, val)));
                yield out;
            }
            case "join" -> {
                String sep = string(arg(args, kwargs, 0, "d", ""));
                Object attribute = arg(args, kwargs, 1, "attribute", null);
                StringBuilder sb = new StringBuilder();
                boolean first = true;
                for (Object item : iterate(v)) {
                    if (!first) sb.append(sep);
                    first = false;
                    sb.append(string(attribute == null ? item : in.getAttribute(item, string(attribute))));
                    in.checkSize(sb.length());
                }
                yield sb.toString();
            }
            case "list" -> iterate(v);
            case "lower" -> string(v).toLowerCase();
            case "upper" -> string(v).toUpperCase();
            case "map" -> {
                List<Object> out = new ArrayList<>();
                if (kwargs.containsKey("attribute")) {
                    String attribute = string(kwargs.get("attribute"));
                    for (Object item : iterate(v)) {
                        Object a = in.getAttribute(item, attribute);
                        out.add(a instanceof Undefined && kwargs.containsKey("default") ? kwargs.get("default") : a);
                    }
                } else {
                    if (args.isEmpty()) throw bad("map needs a filter name or attribute=");
                    String f = string(args.getFirst());
                    for (Object item : iterate(v)) out.add(in.applyFilter(f, item, args.subList(1, args.size()), Map.of()));
                }
                yield out;
            }
            case "select", "reject", "selectattr", "rejectattr" -> {
                boolean byAttr = name.endsWith("attr");
                boolean keep = name.startsWith("select");
                int first = byAttr ? 1 : 0;
                String attribute = byAttr ? string(arg(args, kwargs, 0, "attribute", null)) : null;
                String test = args.size() > first ? string(args.get(first)) : null;
                List<Object> testArgs = args.size() > first + 1 ? args.subList(first + 1, args.size()) : List.of();
                List<Object> out = new ArrayList<>();
                for (Object item : iterate(v)) {
                    Object x = byAttr ? in.getAttribute(item, attribute) : item;
                    boolean pass = test == null ? JinjaValues.truthy(x) : in.applyTest(test, x, testArgs);
                    if (pass == keep) out.add(item);
                }
                yield out;
            }
            case "replace" -> {
                String s = string(v);
                String old = string(arg(args, kwargs, 0, "old", ""));
                String rep = string(arg(args, kwargs, 1, "new", ""));
                Object count = arg(args, kwargs, 2, "count", null);
                String r = replace(s, old, rep, count == null ? -1 : (Long) JinjaValues.numeric(count));
                in.checkSize(r.length());
                yield r;
            }
            case "reverse" -> {
                if (v instanceof String s) yield new StringBuilder(s).reverse().toString();
                List<Object> items = iterate(v);
                yield items.reversed();
            }
            case "safe" -> v;
            case "string" -> string(v);
            case "tojson" -> {
                Object indent = arg(args, kwargs, 0, "indent", null);
                Object seps = kwargs.get("separators");
                String itemSep = null;
                String keySep = null;
                if (seps instanceof List<?> l && l.size() == 2) {
                    itemSep = string(l.get(0));
                    keySep = string(l.get(1));
                }
                boolean sortKeys = JinjaValues.truthy(kwargs.getOrDefault("sort_keys", false));
                String json = JinjaValues.toJson(v, indent == null ? null : (Long) JinjaValues.numeric(indent),
                        itemSep, keySep, sortKeys);
                in.checkSize(json.length());
                yield json;
            }
            case "trim" -> strip(string(v), arg(args, kwargs, 0, "chars", null), true, true);
            case "unique" -> {
                List<Object> out = new ArrayList<>();
                for (Object item : iterate(v)) {
                    boolean seen = false;
                    for (Object o : out) seen |= JinjaValues.pyEquals(o, item);
                    if (!seen) out.add(item);
                }
                yield out;
            }
            default -> throw bad("unsupported filter '" + name + "'");
        };
    }

    static boolean test(String name, Object v, List<Object> args) {
        Object a = args.isEmpty() ? null : args.getFirst();
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "string" -> v instanceof String;
            case "number" -> v instanceof Long || v instanceof Double || v instanceof Boolean;
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "mapping" -> v instanceof Map<?, ?>;
            case "iterable" -> v instanceof List<?> || v instanceof Map<?, ?> || v instanceof String || v instanceof Undefined;
            case "sequence" -> v instanceof List<?> || v instanceof Map<?, ?> || v instanceof String || v instanceof Undefined;
            case "callable" -> v instanceof Callable;
            case "lower" -> v instanceof String s ? s.equals(s.toLowerCase()) : string(v).equals(string(v).toLowerCase());
            case "upper" -> v instanceof String s ? s.equals(s.toUpperCase()) : string(v).equals(string(v).toUpperCase());
            case "even" -> Math.floorMod(integer(v), 2L) == 0;
            case "odd" -> Math.floorMod(integer(v), 2L) == 1;
            case "divisibleby" -> Math.floorMod(integer(v), integer(a)) == 0;
            case "eq", "equalto", "==" -> JinjaValues.pyEquals(v, a);
            case "ne", "!=" -> !JinjaValues.pyEquals(v, a);
            case "lt", "<" -> JinjaValues.compare(v, a) < 0;
            case "gt", ">" -> JinjaValues.compare(v, a) > 0;
            case "le", "<=" -> JinjaValues.compare(v, a) <= 0;
            case "ge", ">=" -> JinjaValues.compare(v, a) >= 0;
            case "in" -> contains(a, v);
            case "sameas" -> v == a || (v instanceof Boolean && v.equals(a)) || (v == null && a == null);
            default -> throw bad("unsupported test '" + name + "'");
        };
    }

    private static long integer(Object v) {
        if (JinjaValues.numeric(v) instanceof Long l) return l;
        throw bad("expected an integer, got " + JinjaValues.typeName(v));
    }

    /** Python's {@code needle in haystack}. */
    static boolean contains(Object haystack, Object needle) {
        return switch (haystack) {
            case String s -> {
                if (!(needle instanceof String n)) throw bad("'in <string>' requires string as left operand, not " + JinjaValues.typeName(needle));
                yield s.contains(n);
            }
            case List<?> l -> {
                for (Object o : l) if (JinjaValues.pyEquals(o, needle)) yield true;
                yield false;
            }
            case Map<?, ?> m -> JinjaValues.findKey(m, needle) != null || (needle == null && m.containsKey(null));
            case Undefined u -> false;
            default -> throw bad("argument of type '" + JinjaValues.typeName(haystack) + "' is not iterable");
        };
    }

    /** A bound Python method of a str or dict, or null when there is none of that name. */
    static Callable method(JinjaInterpreter in, Object target, String name) {
        if (target instanceof String s) {
            return switch (name) {
                case "strip" -> (a, k) -> strip(s, arg(a, k, 0, "chars", null), true, true);
                case "lstrip" -> (a, k) -> strip(s, arg(a, k, 0, "chars", null), true, false);
                case "rstrip" -> (a, k) -> strip(s, arg(a, k, 0, "chars", null), false, true);
                case "upper" -> (a, k) -> s.toUpperCase();
                case "lower" -> (a, k) -> s.toLowerCase();
                case "title" -> (a, k) -> title(s);
                case "capitalize" -> (a, k) -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase() + s.substring(1).toLowerCase();
                case "startswith" -> (a, k) -> affix(s, arg(a, k, 0, "prefix", null), true);
                case "endswith" -> (a, k) -> affix(s, arg(a, k, 0, "suffix", null), false);
                case "split" -> (a, k) -> split(s, arg(a, k, 0, "sep", null), arg(a, k, 1, "maxsplit", -1L));
                case "replace" -> (a, k) -> {
                    Object count = arg(a, k, 2, "count", -1L);
                    String r = replace(s, string(arg(a, k, 0, "old", "")), string(arg(a, k, 1, "new", "")),
                            (Long) JinjaValues.numeric(count));
                    in.checkSize(r.length());
                    return r;
                };
                case "find" -> (a, k) -> (long) s.indexOf(string(arg(a, k, 0, "sub", "")));
                case "join" -> (a, k) -> {
                    StringBuilder sb = new StringBuilder();
                    List<Object> items = iterate(arg(a, k, 0, "iterable", List.of()));
                    for (int i = 0; i < items.size(); i++) {
                        if (i > 0) sb.append(s);
                        if (!(items.get(i) instanceof String x)) throw bad("sequence item " + i + ": expected str instance");
                        sb.append(x);
                        in.checkSize(sb.length());
                    }
                    return sb.toString();
                };
                default -> null;
            };
        }
        if (target instanceof Map<?, ?> m) {
            return switch (name) {
                case "items" -> (a, k) -> filter(in, "items", m, List.of(), Map.of());
                case "keys" -> (a, k) -> new ArrayList<Object>(m.keySet());
                case "values" -> (a, k) -> new ArrayList<Object>(m.values());
                case "get" -> (a, k) -> {
                    Object key = JinjaValues.findKey(m, arg(a, k, 0, "key", null));
                    return key != null || m.containsKey(null) && a.getFirst() == null ? m.get(key) : arg(a, k, 1, "default", null);
                };
                default -> null;
            };
        }
        return null;
    }

    static Map<String, Object> globals() {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("namespace", (Callable) (args, kwargs) -> {
            Namespace ns = new Namespace();
            for (Object a : args) {
                if (a instanceof Map<?, ?> m) m.forEach((k, v) -> ns.attributes.put(string(k), v));
            }
            ns.attributes.putAll(kwargs);
            return ns;
        });
        g.put("range", (Callable) (args, kwargs) -> {
            long start = 0;
            long stop;
            long step = 1;
            if (args.size() == 1) {
                stop = integer(args.get(0));
            } else if (args.size() == 2 || args.size() == 3) {
                start = integer(args.get(0));
                stop = integer(args.get(1));
                if (args.size() == 3) step = integer(args.get(2));
            } else {
                throw bad("range expects 1 to 3 integer arguments");
            }
            if (step == 0) throw bad("range() arg 3 must not be zero");
            List<Object> out = new ArrayList<>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
                if (out.size() >= MAX_RANGE) throw bad("range too big (more than " + MAX_RANGE + " items)");
                out.add(i);
            }
            return out;
        });
        g.put("dict", (Callable) (args, kwargs) -> new LinkedHashMap<Object, Object>(kwargs));
        return g;
    }

    /** As Jinja's sandbox: a template cannot build huge ranges. */
    static final int MAX_RANGE = 100_000;

    static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean prevCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(prevCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevCased = Character.isLetter(c);
        }
        return sb.toString();
    }

    static String strip(String s, Object chars, boolean left, boolean right) {
        String set = chars == null ? null : string(chars);
        int from = 0;
        int to = s.length();
        if (left) while (from < to && stripped(s.charAt(from), set)) from++;
        if (right) while (to > from && stripped(s.charAt(to - 1), set)) to--;
        return s.substring(from, to);
    }

    private static boolean stripped(char c, String set) {
        return set == null ? JinjaValues.isSpace(c) : set.indexOf(c) >= 0;
    }

    private static boolean affix(String s, Object what, boolean prefix) {
        if (what instanceof List<?> l) {
            for (Object o : l) if (affix(s, o, prefix)) return true;
            return false;
        }
        if (!(what instanceof String w)) throw bad((prefix ? "startswith" : "endswith") + " first arg must be str or a tuple of str");
        return prefix ? s.startsWith(w) : s.endsWith(w);
    }

    static List<Object> split(String s, Object sepArg, Object maxArg) {
        long max = (Long) JinjaValues.numeric(maxArg);
        List<Object> out = new ArrayList<>();
        if (sepArg == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && JinjaValues.isSpace(s.charAt(i))) i++;
                if (i >= n) break;
                if (max >= 0 && out.size() == max) {
                    int end = n;
                    while (end > i && JinjaValues.isSpace(s.charAt(end - 1))) end--;
                    out.add(s.substring(i, end));
                    break;
                }
                int j = i;
                while (j < n && !JinjaValues.isSpace(s.charAt(j))) j++;
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        String sep = string(sepArg);
        if (sep.isEmpty()) throw bad("empty separator");
        int from = 0;
        while (true) {
            int k = s.indexOf(sep, from);
            if (k < 0 || (max >= 0 && out.size() == max)) break;
            out.add(s.substring(from, k));
            from = k + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    static String replace(String s, String old, String rep, long count) {
        if (count < 0) return s.replace(old, rep);
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (long n = 0; n < count; n++) {
            int k = old.isEmpty() ? (from <= s.length() ? from : -1) : s.indexOf(old, from);
            if (k < 0) break;
            sb.append(s, from, k).append(rep);
            if (old.isEmpty()) {
                if (k < s.length()) sb.append(s.charAt(k));
                from = k + 1;
            } else {
                from = k + old.length();
            }
        }
        if (from <= s.length()) sb.append(s.substring(from));
        return sb.toString();
    }
}
