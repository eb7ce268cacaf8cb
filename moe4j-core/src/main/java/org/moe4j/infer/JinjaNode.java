package org.moe4j.infer;

import java.util.List;

/** The parsed template: statements and expressions. {@code pos} is the offset in the template, for errors. */
sealed interface JinjaNode {
    int pos();

    // ---- statements
    record Text(int pos, String text) implements JinjaNode {}

    record Output(int pos, Expr expr) implements JinjaNode {}

    /** if/elif/.../else: {@code conditions.get(i)} guards {@code bodies.get(i)}; {@code otherwise} may be empty. */
    record If(int pos, List<Expr> conditions, List<List<JinjaNode>> bodies, List<JinjaNode> otherwise) implements JinjaNode {}

    /** for targets in iterable [if filter]: body, else otherwise (when nothing was iterated). */
    record For(int pos, List<String> targets, Expr iterable, Expr filter, List<JinjaNode> body,
               List<JinjaNode> otherwise) implements JinjaNode {}

    /** set name = value, or set name.attribute = value (a namespace) when {@code attribute} is not null. */
    record Set(int pos, String name, String attribute, Expr value) implements JinjaNode {}

    /** {% set name %}body{% endset %}: the rendered body becomes the value. */
    record SetBlock(int pos, String name, List<JinjaNode> body) implements JinjaNode {}

    // ---- expressions
    sealed interface Expr extends JinjaNode {}

    record Literal(int pos, Object value) implements Expr {}

    record Name(int pos, String name) implements Expr {}

    record ListExpr(int pos, List<Expr> items) implements Expr {}

    record DictExpr(int pos, List<Expr> keys, List<Expr> values) implements Expr {}

    record Attr(int pos, Expr target, String name) implements Expr {}

    record Item(int pos, Expr target, Expr index) implements Expr {}

    /** target[start:stop:step]; absent parts are null. */
    record Slice(int pos, Expr target, Expr start, Expr stop, Expr step) implements Expr {}

    record Call(int pos, Expr callee, List<Expr> args, List<String> kwNames, List<Expr> kwValues) implements Expr {}

    record Filter(int pos, Expr target, String name, List<Expr> args, List<String> kwNames, List<Expr> kwValues)
            implements Expr {}

    record Test(int pos, Expr target, String name, List<Expr> args, boolean negated) implements Expr {}

    /** Unary minus/plus or {@code not}. */
    record Unary(int pos, String op, Expr operand) implements Expr {}

    /** Arithmetic, {@code ~}, and the short-circuit {@code and}/{@code or}. */
    record Binary(int pos, String op, Expr left, Expr right) implements Expr {}

    /** A comparison chain a op1 b op2 c (ops: == != < > <= >= in, "not in"). */
    record Compare(int pos, Expr first, List<String> ops, List<Expr> rest) implements Expr {}

    /** a if condition else b; {@code otherwise} null means undefined. */
    record Conditional(int pos, Expr condition, Expr then, Expr otherwise) implements Expr {}
}
