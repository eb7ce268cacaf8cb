package org.moe4j.infer;

import java.util.ArrayList;
import java.util.List;
import org.moe4j.infer.JinjaValues.Undefined;

/** Python's arithmetic operators and Jinja's {@code ~} on template values, with size checks on what they build. */
final class JinjaArithmetic {
    private JinjaArithmetic() {}

    static void requireDefined(Object v) {
        if (v instanceof Undefined u) throw new IllegalArgumentException(u.name());
    }

    private static IllegalArgumentException unsupported(String op, Object l, Object r) {
        return new IllegalArgumentException("unsupported operand types for " + op + ": '" + JinjaValues.typeName(l)
                + "' and '" + JinjaValues.typeName(r) + "'");
    }

    static Object negate(Object v) {
        requireDefined(v);
        Object n = JinjaValues.numeric(v);
        if (n instanceof Long l) return Math.negateExact(l);
        if (n instanceof Double d) return -d;
        throw new IllegalArgumentException("bad operand type for unary -: '" + JinjaValues.typeName(v) + "'");
    }

    static Object plus(Object v) {
        requireDefined(v);
        if (!JinjaValues.isNumber(v)) throw new IllegalArgumentException("bad operand type for unary +: '" + JinjaValues.typeName(v) + "'");
        return JinjaValues.numeric(v);
    }

    static Object binary(String op, Object l, Object r, long maxSize) {
        if (op.equals("~")) return checked(JinjaValues.str(l) + JinjaValues.str(r), maxSize);
        requireDefined(l);
        requireDefined(r);
        boolean numbers = JinjaValues.isNumber(l) && JinjaValues.isNumber(r);
        if (numbers) return numeric(op, JinjaValues.numeric(l), JinjaValues.numeric(r));
        switch (op) {
            case "+" -> {
                if (l instanceof String a && r instanceof String b) {
                    checkSize((long) a.length() + b.length(), maxSize);
                    return a + b;
                }
                if (l instanceof List<?> a && r instanceof List<?> b) {
                    checkSize((long) a.size() + b.size(), maxSize);
                    List<Object> out = new ArrayList<>(a);
                    out.addAll(b);
                    return out;
                }
            }
            case "*" -> {
                Object times = l instanceof Long || l instanceof Boolean ? l : r;
                Object seq = times == l ? r : l;
                if (JinjaValues.numeric(times) instanceof Long n && (seq instanceof String || seq instanceof List<?>)) {
                    long count = Math.max(0, n);
                    if (seq instanceof String s) {
                        checkSize(Math.multiplyExact(count, (long) s.length()), maxSize);
                        return s.repeat((int) count);
                    }
                    List<?> list = (List<?>) seq;
                    checkSize(Math.multiplyExact(count, (long) list.size()), maxSize);
                    List<Object> out = new ArrayList<>();
                    for (long i = 0; i < count; i++) out.addAll(list);
                    return out;
                }
            }
            default -> { }
        }
        throw unsupported(op, l, r);
    }

    private static Object checked(String s, long maxSize) {
        checkSize(s.length(), maxSize);
        return s;
    }

    private static void checkSize(long size, long maxSize) {
        if (size > maxSize) throw new SizeLimit(maxSize);
    }

    /** A value would exceed the output limit; the interpreter reports it as a LimitExceeded. */
    static final class SizeLimit extends RuntimeException {
        SizeLimit(long max) {
            super("a value grew past " + max + " characters", null, false, false);
        }
    }

    private static Object numeric(String op, Object a, Object b) {
        if (a instanceof Long x && b instanceof Long y) {
            return switch (op) {
                case "+" -> Math.addExact(x, y);
                case "-" -> Math.subtractExact(x, y);
                case "*" -> Math.multiplyExact(x, y);
                case "/" -> {
                    if (y == 0) throw new ArithmeticException("division by zero");
                    yield (double) x / y;
                }
                case "//" -> {
                    if (y == 0) throw new ArithmeticException("integer division or modulo by zero");
                    yield Math.floorDiv(x, y);
                }
                case "%" -> {
                    if (y == 0) throw new ArithmeticException("integer division or modulo by zero");
                    yield Math.floorMod(x, y);
                }
                case "**" -> {
                    if (y < 0) yield Math.pow(x, y);
                    if (x == 0 || x == 1) yield y == 0 ? 1L : x;
                    if (x == -1) yield y % 2 == 0 ? 1L : -1L;
                    long result = 1;
                    for (long i = 0; i < y; i++) result = Math.multiplyExact(result, x);
                    yield result;
                }
                default -> throw new IllegalArgumentException("unknown operator " + op);
            };
        }
        double x = JinjaValues.asDouble(a);
        double y = JinjaValues.asDouble(b);
        return switch (op) {
            case "+" -> x + y;
            case "-" -> x - y;
            case "*" -> x * y;
            case "/" -> {
                if (y == 0) throw new ArithmeticException("float division by zero");
                yield x / y;
            }
            case "//" -> {
                if (y == 0) throw new ArithmeticException("float divmod()");
                yield Math.floor(x / y);
            }
            case "%" -> {
                if (y == 0) throw new ArithmeticException("float modulo");
                double m = x % y;
                yield (m != 0 && ((m < 0) != (y < 0))) ? m + y : m;
            }
            case "**" -> Math.pow(x, y);
            default -> throw new IllegalArgumentException("unknown operator " + op);
        };
    }
}
