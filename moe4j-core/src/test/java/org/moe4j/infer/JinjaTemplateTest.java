package org.moe4j.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moe4j.common.Moe4jException;

/** Semantics, errors (with positions) and limits of the Jinja subset; loading a model's chat template. */
class JinjaTemplateTest {
    private static String render(String template, Map<String, ?> vars) {
        return JinjaTemplate.parse(template).render(vars);
    }

    private static String render(String template) {
        return render(template, Map.of());
    }

    @Test
    void expressionsFollowPythonAndJinja() {
        assertEquals("7|2.5|1|0|8|ab|a1|True|None|[1, 'x']", render(
                "{{ 1 + 2 * 3 }}|{{ 5 / 2 }}|{{ 7 // 4 }}|{{ -7 % 3 - 2 * 1 + 1 - 1 + 0 }}|{{ 2 ** 3 }}|{{ 'a' + 'b' }}|{{ 'a' ~ 1 }}|{{ 1 < 2 < 3 }}|{{ none }}|{{ [1, 'x'] }}"));
        assertEquals("cba|bc|c|x", render("{{ 'abc'[::-1] }}|{{ 'abc'[1:] }}|{{ 'abc'[-1] }}|{{ 'x' if 1 in [1] else 'y' }}"));
        assertEquals(" A  B", render("{{ ' a ' | upper + ' ' + 'b' | upper }}"));
        assertEquals("{\"a\": [1, 2.5, null, true], \"é\": \"\\n\"}", render("{{ {'a': [1, 2.5, none, true], 'é': '\\n'} | tojson }}"));
        assertEquals("{\n  \"a\": 1\n}", render("{{ {'a': 1} | tojson(indent=2) }}"));
        assertEquals("a,b", render("{{ 'a b'.split() | join(',') }}"));
        assertEquals("2:u", render("{{ msgs | selectattr('role', 'equalto', 'user') | list | length }}:{{ (msgs | first).role[0] }}",
                Map.of("msgs", List.of(Map.of("role", "user"), Map.of("role", "assistant"), Map.of("role", "user")))));
    }

    @Test
    void loopsScopesAndNamespaces() {
        assertEquals("0/1/3/T 1/2/3/ 2/3/3/L", render(
                "{% for x in 'abc' %}{{ loop.index0 }}/{{ loop.index }}/{{ loop.length }}/{{ 'T' if loop.first }}{{ 'L' if loop.last }}{% if not loop.last %} {% endif %}{% endfor %}"));
        // set inside a loop is local to it; a namespace carries state out
        assertEquals("outer 3", render(
                "{% set v = 'outer' %}{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set v = 'inner' %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ v }} {{ ns.n }}"));
        assertEquals("empty", render("{% for x in [] %}x{% else %}empty{% endfor %}"));
        assertEquals("a=1;b=2;", render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
                Map.of("d", new java.util.LinkedHashMap<>(Map.of("a", 1)) {{ put("b", 2); }})));
        assertEquals("13", render("{% for i in [1, 2, 3] if i is odd %}{{ i }}{% endfor %}"));
        assertEquals("[x]", render("{% set s %}[{{ 'x' }}]{% endset %}{{ s }}"));
    }

    @Test
    void undefinedIsEmptyFalseAndDefaultable() {
        assertEquals("|no|d|0", render("{{ missing }}|{{ 'yes' if missing else 'no' }}|{{ missing | default('d') }}|{{ missing | length }}"));
        assertEquals("True False", render("{{ m.x is not defined }} {{ m is undefined }}", Map.of("m", Map.of())));
    }

    @Test
    void whitespaceControlMatchesTransformers() {
        assertEquals("a\nb", render("{% if true %}\na\n{% endif %}\n{%- if true -%}\n  b  {%- endif %}"));
        assertEquals("x\ny", render("  {% if true %}\nx\n  {% endif %}\ny\n"), "one trailing newline dropped, as Jinja does");
        assertEquals("  1", render("  {{ 1 }}\n"), "lstrip_blocks leaves output tags alone");
    }

    private static TemplateException parseError(String template) {
        return assertThrows(TemplateException.class, () -> JinjaTemplate.parse(template));
    }

    private static TemplateException renderError(String template) {
        return assertThrows(TemplateException.class, () -> render(template));
    }

    @Test
    void syntaxErrorsNameTheProblemAndPosition() {
        TemplateException e = parseError("ok\n  {% if x %}never closed");
        assertTrue(e.getMessage().contains("endif"), e.getMessage());
        // an unknown filter is found at render time, with its position
        e = renderError("line one\n{{ x | nosuch }}");
        assertTrue(e.getMessage().contains("unsupported filter 'nosuch'"), e.getMessage());
        assertEquals(2, e.line());
        assertEquals(8, e.column());
        e = parseError("{% macro m() %}{% endmacro %}");
        assertTrue(e.getMessage().contains("unsupported tag 'macro'"), e.getMessage());
        assertEquals(1, e.line());
        e = parseError("{{ 1 + }}");
        assertTrue(e.getMessage().contains("expected an expression"), e.getMessage());
        e = parseError("{{ 'open }}");
        assertTrue(e.getMessage().contains("never closed"), e.getMessage());
        e = parseError("{% endfor %}");
        assertTrue(e.getMessage().contains("endfor"), e.getMessage());
        e = parseError("{{ x }");
        assertTrue(e.getMessage().contains("never closed"), e.getMessage());
        e = renderError("{{ x is nosuchtest }}");
        assertTrue(e.getMessage().contains("unsupported test 'nosuchtest'"), e.getMessage());
    }

    @Test
    void runtimeErrorsAreClear() {
        assertTrue(renderError("{{ 'a' + 1 }}").getMessage().contains("unsupported operand types for +: 'str' and 'int'"));
        assertTrue(renderError("{{ missing.attr }}").getMessage().contains("'missing' is undefined"));
        assertTrue(renderError("{{ 1 // 0 }}").getMessage().contains("division"));
        assertTrue(renderError("{% set x = 1 %}{% set x.y = 2 %}").getMessage().contains("namespace"));
        assertTrue(renderError("{{ 'abc'.nosuchmethod() }}").getMessage().contains("cannot be called"));
    }

    @Test
    void raiseExceptionIsTyped() {
        TemplateException.Raised e = assertThrows(TemplateException.Raised.class,
                () -> render("\n\n   {{ raise_exception('roles must alternate') }}"));
        assertEquals("roles must alternate", e.templateMessage());
        assertEquals(3, e.line());
        assertTrue(e.getMessage().contains("roles must alternate"));
    }

    @Test
    void hostileTemplatesHitLimits() {
        JinjaTemplate.Limits small = new JinjaTemplate.Limits(1000, 100_000, 20);
        // steps: nested loops of 10^15 iterations stop quickly
        assertThrows(TemplateException.LimitExceeded.class, () -> JinjaTemplate.parse(
                "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}{% endfor %}{% endfor %}{% endfor %}",
                small).render(Map.of()));
        // memory: a string doubled until huge, and output growth
        assertThrows(TemplateException.LimitExceeded.class, () -> JinjaTemplate.parse("{{ 'x' * 1000000000000 }}", small).render(Map.of()));
        assertThrows(TemplateException.LimitExceeded.class, () -> JinjaTemplate.parse(
                "{% for i in range(1000) %}0123456789{% endfor %}", small).render(Map.of()));
        assertThrows(TemplateException.LimitExceeded.class, () -> JinjaTemplate.parse(
                "{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", small).render(Map.of()));
        // depth: deeply nested expressions and blocks are refused at parse time, not by a stack overflow
        assertThrows(TemplateException.LimitExceeded.class, () -> JinjaTemplate.parse("{{ " + "(".repeat(5000) + "1" + ")".repeat(5000) + " }}"));
        assertThrows(TemplateException.LimitExceeded.class, () -> JinjaTemplate.parse("{% if 1 %}".repeat(5000)));
        assertThrows(TemplateException.class, () -> render("{{ range(10000000) | length }}"));
    }

    @Test
    void plainDefaultIsDocumentedShape() {
        ChatTemplate plain = ChatTemplate.plain("", "");
        assertTrue(plain.isDefault());
        assertEquals("<|system|>\nbe brief\n<|user|>\nhi\n<|assistant|>\n",
                plain.render(List.of(new ChatMessage("system", "be brief"), new ChatMessage("user", "hi")), true));
        assertEquals("<|user|>\nhi\n", plain.render(List.of(new ChatMessage("user", "hi")), false));
    }

    @Test
    void loadsFromTokenizerConfig(@TempDir Path dir) throws IOException {
        assertTrue(ChatTemplate.load(dir).isDefault(), "no tokenizer_config.json: plain default");
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": {\"content\": \"<s>\", \"lstrip\": false}, \"eos_token\": \"</s>\","
                        + " \"chat_template\": \"{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}{{ eos_token }}\"}");
        ChatTemplate t = ChatTemplate.load(dir);
        assertFalse(t.isDefault());
        assertEquals("<s>[a][b]</s>", t.render(List.of(new ChatMessage("user", "a"), new ChatMessage("assistant", "b")), true));

        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"},"
                + " {\"name\": \"default\", \"template\": \"D{{ messages | length }}\"}]}");
        assertEquals("D1", ChatTemplate.load(dir).render(List.of(new ChatMessage("user", "x")), false));

        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
        ChatTemplate plain = ChatTemplate.load(dir);
        assertTrue(plain.isDefault());
        assertEquals("</s>", plain.eosToken());

        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"{% if %}\"}");
        Moe4jException e = assertThrows(Moe4jException.class, () -> ChatTemplate.load(dir));
        assertTrue(e.getMessage().contains("tokenizer_config.json") && e.getMessage().contains("line 1"), e.getMessage());

        Files.writeString(dir.resolve("tokenizer_config.json"), "{not json");
        assertThrows(Moe4jException.class, () -> ChatTemplate.load(dir));
    }
}
