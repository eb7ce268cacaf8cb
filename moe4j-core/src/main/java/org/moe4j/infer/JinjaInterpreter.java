package org.moe4j.infer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.moe4j.infer.JinjaNode.Expr;
import org.moe4j.infer.JinjaValues.Callable;
import org.moe4j.infer.JinjaValues.Namespace;
import org.moe4j.infer.JinjaValues.Undefined;

/**
 * Evaluates a parsed template for one render. Per-render state (output, step count, scopes) lives here, never on
 * the template, so one template renders on many threads. Scoping follows Jinja: {@code set} inside a for loop is
 * local to that iteration; inside {@code if} it is not scoped.
 */
final class JinjaInterpreter {
    private final String src;
    private final JinjaTemplate.Limits limits;
    private final StringBuilder out = new StringBuilder();
    private long steps;

    private static final class Scope {
        final Map<String, Object> vars = new HashMap<>();
        final Scope parent;

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object lookup(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.vars.containsKey(name)) return s.vars.get(name);
            }
            return new Undefined("'" + name + "' is undefined");
        }
    }

    /** The template called raise_exception; converted to TemplateException.Raised with the call position. */
    static final class RaiseSignal extends RuntimeException {
        RaiseSignal(String message) {
            super(message, null, false, false);
        }
    }

    JinjaInterpreter(String src, JinjaTemplate.Limits limits) {
        this.src = src;
        this.limits = limits;
    }

    String render(List<JinjaNode> nodes, Map<String, Object> variables) {
        Scope globals = new Scope(null);
        globals.vars.putAll(JinjaBuiltins.globals());
        globals.vars.put("raise_exception", (Callable) (args, kwargs) -> {
            throw new RaiseSignal(args.isEmpty() ? "" : JinjaValues.str(args.getFirst()));
        });
        Scope root = new Scope(globals);
        variables.forEach((k, v) -> root.vars.put(k, JinjaValues.normalize(v)));
        execute(nodes, root, out);
        return out.toString();
    }

    private TemplateException error(String problem, int pos) {
        return new TemplateException(problem, src, pos);
    }

    private void step(int pos) {
        if (++steps > limits.maxSteps()) {
            throw new TemplateException.LimitExceeded("rendering took more than " + limits.maxSteps()
                    + " steps (a loop too long for a chat template?)", src, pos);
        }
    }

    private int currentPos;

    /** Fails when a string or list being built would exceed the output limit. */
    void checkSize(long size) {
        if (size > limits.maxOutputChars()) {
            throw new TemplateException.LimitExceeded("a value or the output grew past " + limits.maxOutputChars()
                    + " characters", src, currentPos);
        }
    }

    // ---- statements

    private void execute(List<JinjaNode> nodes, Scope scope, StringBuilder sink) {
        for (JinjaNode node : nodes) {
            step(node.pos());
            currentPos = node.pos();
            switch (node) {
                case JinjaNode.Text t -> append(sink, t.text(), t.pos());
                case JinjaNode.Output o -> append(sink, JinjaValues.str(eval(o.expr(), scope)), o.pos());
                case JinjaNode.If f -> {
                    boolean done = false;
                    for (int i = 0; i < f.conditions().size() && !done; i++) {
                        if (JinjaValues.truthy(eval(f.conditions().get(i), scope))) {
                            execute(f.bodies().get(i), scope, sink);
                            done = true;
                        }
                    }
                    if (!done) execute(f.otherwise(), scope, sink);
                }
                case JinjaNode.For f -> executeFor(f, scope, sink);
                case JinjaNode.Set s -> {
                    Object value = eval(s.value(), scope);
                    if (s.attribute() == null) {
                        scope.vars.put(s.name(), value);
                    } else if (scope.lookup(s.name()) instanceof Namespace ns) {
                        ns.attributes.put(s.attribute(), value);
                    } else {
                        throw error("cannot assign attribute '" + s.attribute() + "' on '" + s.name()
                                + "': only namespace() objects take attribute assignment", s.pos());
                    }
                }
                case JinjaNode.SetBlock s -> {
                    StringBuilder captured = new StringBuilder();
                    execute(s.body(), scope, captured);
                    scope.vars.put(s.name(), captured.toString());
                }
                case Expr e -> throw error("expression where a statement was expected", e.pos());
            }
        }
    }

    private void append(StringBuilder sink, String text, int pos) {
        currentPos = pos;
        sink.append(text);
        checkSize(sink.length());
        if (sink != out) checkSize(out.length() + (long) sink.length());
    }

    private void executeFor(JinjaNode.For f, Scope scope, StringBuilder sink) {
        Object iterable = eval(f.iterable(), scope);
        List<Object> items;
        try {
            items = JinjaBuiltins.iterate(iterable);
        } catch (IllegalArgumentException e) {
            throw error(e.getMessage(), f.iterable().pos());
        }
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                Scope s = new Scope(scope);
                bind(f, s, item);
                if (JinjaValues.truthy(eval(f.filter(), s))) kept.add(item);
            }
            items = kept;
        }
        if (items.isEmpty()) {
            execute(f.otherwise(), scope, sink);
            return;
        }
        int n = items.size();
        for (int i = 0; i < n; i++) {
            step(f.pos());
            Scope s = new Scope(scope);
            bind(f, s, items.get(i));
            Map<String, Object> loop = new LinkedHashMap<>();
            loop.put("index0", (long) i);
            loop.put("index", (long) i + 1);
            loop.put("revindex0", (long) (n - 1 - i));
            loop.put("revindex", (long) (n - i));
            loop.put("first", i == 0);
            loop.put("last", i == n - 1);
            loop.put("length", (long) n);
            loop.put("previtem", i > 0 ? items.get(i - 1) : new Undefined("there is no previous item"));
            loop.put("nextitem", i < n - 1 ? items.get(i + 1) : new Undefined("there is no next item"));
            s.vars.put("loop", loop);
            execute(f.body(), s, sink);
        }
    }

    private void bind(JinjaNode.For f, Scope s, Object item) {
        if (f.targets().size() == 1) {
            s.vars.put(f.targets().getFirst(), item);
            return;
        }
        if (!(item instanceof List<?> l) || l.size() != f.targets().size()) {
            throw error("cannot unpack " + JinjaValues.typeName(item) + " into " + f.targets().size()
                    + " loop variables", f.pos());
        }
        for (int i = 0; i < l.size(); i++) s.vars.put(f.targets().get(i), l.get(i));
    }

    // ---- expressions

    private Object eval(Expr e, Scope scope) {
        step(e.pos());
        currentPos = e.pos();
        try {
            return evalUnchecked(e, scope);
        } catch (JinjaArithmetic.SizeLimit ex) {
            throw new TemplateException.LimitExceeded(ex.getMessage(), src, e.pos());
        } catch (IllegalArgumentException | ArithmeticException | ClassCastException ex) {
            throw error(ex instanceof ClassCastException ? "wrong argument type" : ex.getMessage(), e.pos());
        }
    }

    private Object evalUnchecked(Expr e, Scope scope) {
        return switch (e) {
            case JinjaNode.Literal l -> l.value();
            case JinjaNode.Name n -> scope.lookup(n.name());
            case JinjaNode.ListExpr l -> {
                List<Object> items = new ArrayList<>(l.items().size());
                for (Expr x : l.items()) items.add(eval(x, scope));
                yield items;
            }
            case JinjaNode.DictExpr d -> {
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < d.keys().size(); i++) map.put(eval(d.keys().get(i), scope), eval(d.values().get(i), scope));
                yield map;
            }
            case JinjaNode.Attr a -> {
                Object target = eval(a.target(), scope);
                currentPos = a.pos();
                yield getAttribute(target, a.name());
            }
            case JinjaNode.Item it -> getItem(eval(it.target(), scope), eval(it.index(), scope));
            case JinjaNode.Slice sl -> slice(eval(sl.target(), scope), sl.start() == null ? null : eval(sl.start(), scope),
                    sl.stop() == null ? null : eval(sl.stop(), scope), sl.step() == null ? null : eval(sl.step(), scope));
            case JinjaNode.Call c -> call(c, scope);
            case JinjaNode.Filter f -> {
                Object target = eval(f.target(), scope);
                List<Object> args = evalAll(f.args(), scope);
                Map<String, Object> kwargs = evalKwargs(f.kwNames(), f.kwValues(), scope);
                currentPos = f.pos();
                yield applyFilter(f.name(), target, args, kwargs);
            }
            case JinjaNode.Test t -> {
                Object target = eval(t.target(), scope);
                List<Object> args = evalAll(t.args(), scope);
                currentPos = t.pos();
                yield applyTest(t.name(), target, args) != t.negated();
            }
            case JinjaNode.Unary u -> {
                Object v = eval(u.operand(), scope);
                yield switch (u.op()) {
                    case "not" -> !JinjaValues.truthy(v);
                    case "-" -> JinjaArithmetic.negate(v);
                    default -> JinjaArithmetic.plus(v);
                };
            }
            case JinjaNode.Binary b -> switch (b.op()) {
                case "and" -> {
                    Object l = eval(b.left(), scope);
                    yield JinjaValues.truthy(l) ? eval(b.right(), scope) : l;
                }
                case "or" -> {
                    Object l = eval(b.left(), scope);
                    yield JinjaValues.truthy(l) ? l : eval(b.right(), scope);
                }
                default -> {
                    Object l = eval(b.left(), scope);
                    Object r = eval(b.right(), scope);
                    currentPos = b.pos();
                    Object result = JinjaArithmetic.binary(b.op(), l, r, limits.maxOutputChars());
                    yield result;
                }
            };
            case JinjaNode.Compare c -> {
                Object left = eval(c.first(), scope);
                for (int i = 0; i < c.ops().size(); i++) {
                    Object right = eval(c.rest().get(i), scope);
                    if (!compare(c.ops().get(i), left, right)) yield false;
                    left = right;
                }
                yield true;
            }
            case JinjaNode.Conditional c -> JinjaValues.truthy(eval(c.condition(), scope)) ? eval(c.then(), scope)
                    : c.otherwise() == null ? new Undefined("the conditional expression had no else") : eval(c.otherwise(), scope);
        };
    }

    private List<Object> evalAll(List<Expr> exprs, Scope scope) {
        List<Object> values = new ArrayList<>(exprs.size());
        for (Expr x : exprs) values.add(eval(x, scope));
        return values;
    }

    private Map<String, Object> evalKwargs(List<String> names, List<Expr> values, Scope scope) {
        Map<String, Object> kwargs = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) kwargs.put(names.get(i), eval(values.get(i), scope));
        return kwargs;
    }

    private static boolean compare(String op, Object l, Object r) {
        JinjaArithmetic.requireDefined(l);
        return switch (op) {
            case "==" -> JinjaValues.pyEquals(l, r);
            case "!=" -> !JinjaValues.pyEquals(l, r);
            case "in" -> JinjaBuiltins.contains(r, l);
            case "not in" -> !JinjaBuiltins.contains(r, l);
            default -> {
                JinjaArithmetic.requireDefined(r);
                int c = JinjaValues.compare(l, r);
                yield switch (op) {
                    case "<" -> c < 0;
                    case ">" -> c > 0;
                    case "<=" -> c <= 0;
                    default -> c >= 0;
                };
            }
        };
    }

    private Object call(JinjaNode.Call c, Scope scope) {
        Object callee = eval(c.callee(), scope);
        List<Object> args = evalAll(c.args(), scope);
        Map<String, Object> kwargs = evalKwargs(c.kwNames(), c.kwValues(), scope);
        currentPos = c.pos();
        if (callee instanceof Undefined u) {
            throw error(u.name() + " (so it cannot be called)", c.callee().pos());
        }
        if (!(callee instanceof Callable fn)) {
            throw error("'" + JinjaValues.typeName(callee) + "' object is not callable", c.callee().pos());
        }
        try {
            return fn.call(args, kwargs);
        } catch (RaiseSignal r) {
            throw new TemplateException.Raised(r.getMessage(), src, c.pos());
        }
    }

    Object applyFilter(String name, Object value, List<Object> args, Map<String, Object> kwargs) {
        if (!JinjaBuiltins.FILTERS.contains(name)) {
            throw new IllegalArgumentException("unsupported filter '" + name + "' (supported: "
                    + String.join(", ", JinjaBuiltins.FILTERS) + ")");
        }
        if (value instanceof Undefined u && !List.of("default", "d", "length", "count", "string", "trim", "upper",
                "lower", "safe", "list", "first", "last", "join", "items").contains(name)) {
            throw new IllegalArgumentException(u.name());
        }
        return JinjaBuiltins.filter(this, name, value, args, kwargs);
    }

    boolean applyTest(String name, Object value, List<Object> args) {
        if (!JinjaBuiltins.TESTS.contains(name)) {
            throw new IllegalArgumentException("unsupported test '" + name + "' (supported: "
                    + String.join(", ", JinjaBuiltins.TESTS) + ")");
        }
        return JinjaBuiltins.test(name, value, args);
    }

    /** Jinja's {@code obj.name}: a dict key (dict methods first), a namespace attribute, or a str/dict method. */
    Object getAttribute(Object target, String name) {
        switch (target) {
            case Undefined u -> throw new IllegalArgumentException(u.name() + " (reading its attribute '" + name + "')");
            case Namespace ns -> {
                return ns.attributes.containsKey(name) ? ns.attributes.get(name)
                        : new Undefined("namespace has no attribute '" + name + "'");
            }
            case Map<?, ?> m -> {
                Callable method = JinjaBuiltins.method(this, m, name);
                if (method != null) return method;
                return m.containsKey(name) ? m.get(name) : new Undefined("'dict object' has no attribute '" + name + "'");
            }
            default -> {
                Callable method = JinjaBuiltins.method(this, target, name);
                if (method != null) return method;
                return new Undefined("'" + JinjaValues.typeName(target) + " object' has no attribute '" + name + "'");
            }
        }
    }

    /** Jinja's {@code obj[key]}: item first, then attribute; missing gives undefined. */
    private Object getItem(Object target, Object key) {
        switch (target) {
            case Undefined u -> throw new IllegalArgumentException(u.name() + " (reading its item " + JinjaValues.repr(key) + ")");
            case Map<?, ?> m -> {
                Object k = JinjaValues.findKey(m, key);
                if (k != null || (key == null && m.containsKey(null))) return m.get(k);
                Callable method = key instanceof String s ? JinjaBuiltins.method(this, m, s) : null;
                return method != null ? method : new Undefined("'dict object' has no item " + JinjaValues.repr(key));
            }
            case List<?> l -> {
                if (!(JinjaValues.numeric(key) instanceof Long i)) return new Undefined("list has no item " + JinjaValues.repr(key));
                long idx = i < 0 ? i + l.size() : i;
                return idx >= 0 && idx < l.size() ? l.get((int) idx) : new Undefined("list index " + i + " out of range");
            }
            case String s -> {
                if (!(JinjaValues.numeric(key) instanceof Long i)) return new Undefined("str has no item " + JinjaValues.repr(key));
                int[] cps = s.codePoints().toArray();
                long idx = i < 0 ? i + cps.length : i;
                return idx >= 0 && idx < cps.length ? Character.toString(cps[(int) idx]) : new Undefined("string index out of range");
            }
            default -> {
                return key instanceof String name ? getAttribute(target, name)
                        : new Undefined("'" + JinjaValues.typeName(target) + "' has no item " + JinjaValues.repr(key));
            }
        }
    }

    /** Python slicing of a list or string. */
    private static Object slice(Object target, Object start, Object stop, Object step) {
        long st = step == null ? 1 : (Long) JinjaValues.numeric(step);
        if (st == 0) throw new IllegalArgumentException("slice step cannot be zero");
        List<Object> items;
        boolean isString = target instanceof String;
        if (target instanceof String s) {
            items = new ArrayList<>();
            s.codePoints().forEach(cp -> items.add(Character.toString(cp)));
        } else if (target instanceof List<?> l) {
            items = new ArrayList<>(l);
        } else if (target instanceof Undefined u) {
            throw new IllegalArgumentException(u.name() + " (slicing it)");
        } else {
            throw new IllegalArgumentException("'" + JinjaValues.typeName(target) + "' object is not subscriptable");
        }
        long n = items.size();
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : clamp((Long) JinjaValues.numeric(start), n, 0, n);
            hi = stop == null ? n : clamp((Long) JinjaValues.numeric(stop), n, 0, n);
        } else {
            lo = start == null ? n - 1 : clamp((Long) JinjaValues.numeric(start), n, -1, n - 1);
            hi = stop == null ? -1 : clamp((Long) JinjaValues.numeric(stop), n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) out.add(items.get((int) i));
        if (!isString) return out;
        StringBuilder sb = new StringBuilder();
        for (Object o : out) sb.append((String) o);
        return sb.toString();
    }

    private static long clamp(long index, long n, long min, long max) {
        long i = index < 0 ? index + n : index;
        return Math.max(min, Math.min(max, i));
    }
}
