"""Tests for pytrace.transformer: node shapes and spans for every construct."""

from __future__ import annotations

from pytrace import nodes as n
from pytrace.parser import parse
from pytrace.source import Source, Span


def program(text: str) -> n.Program:
    prog, diags = parse(Source("stdin", text))
    assert diags == [], diags
    assert prog is not None
    return prog


def stmts(body: str) -> list[n.Stmt]:
    return program("BEGIN { " + body + " }").probes[0].body.stmts


def expr(text: str) -> n.Expr:
    stmt = stmts(text + ";")[0]
    assert isinstance(stmt, n.ExprStmt)
    return stmt.expr


def test_identifier_span() -> None:
    call = expr("print(foo)")
    assert isinstance(call, n.Call) and call.name == "print"
    assert call.span == Span(1, 9, 1, 19)
    arg = call.args[0]
    assert isinstance(arg, n.Identifier) and arg.name == "foo"
    assert arg.span == Span(1, 15, 1, 18)


def test_integer_literals() -> None:
    values = [(e := expr(t), e.value if isinstance(e, n.Int) else None)[1]
              for t in ["42", "0x1f", "017", "1_000_000", "1e6", "true", "false", "0"]]
    assert values == [42, 31, 15, 1_000_000, 1_000_000, 1, 0, 0]


def test_negative_is_unary_minus() -> None:
    e = expr("-5")
    assert isinstance(e, n.Unary) and e.op == "-"
    assert isinstance(e.operand, n.Int) and e.operand.value == 5


def test_string_escapes() -> None:
    e = expr(r'"a\n\t\\\"\x41\101\0z"')
    assert isinstance(e, n.Str)
    assert e.value == 'a\n\t\\"AA\x00z'


def test_escapes_bpftrace_refuses() -> None:
    for esc in ("q", "a", "e", "v", "'"):
        _prog, diags = parse(Source("stdin", f'BEGIN {{ printf("x\\{esc}y"); }}'))
        assert [d.message for d in diags] == [f"invalid escape character '\\{esc}'"]
        assert (diags[0].span.col, diags[0].span.end_col) == (16, 22)


def test_positional_and_variables() -> None:
    call = expr("f($1, $12, $#, $x, @, @name, @m[1], @m[1, 2], @m[(1, 2)])")
    assert isinstance(call, n.Call)
    a = call.args
    assert isinstance(a[0], n.PositionalParam) and a[0].index == 1
    assert isinstance(a[1], n.PositionalParam) and a[1].index == 12
    assert isinstance(a[2], n.PositionalCount)
    assert isinstance(a[3], n.Variable) and a[3].name == "x"
    assert isinstance(a[4], n.MapRef) and a[4].name == "@" and a[4].keys == []
    assert isinstance(a[5], n.MapRef) and a[5].name == "@name"
    assert isinstance(a[6], n.MapRef) and len(a[6].keys) == 1
    assert isinstance(a[7], n.MapRef) and len(a[7].keys) == 2
    assert isinstance(a[8], n.MapRef) and len(a[8].keys) == 1
    assert isinstance(a[8].keys[0], n.TupleExpr) and len(a[8].keys[0].elems) == 2
    text = "BEGIN { f($1, $12, $#, $x, @, @name, @m[1], @m[1, 2], @m[(1, 2)]); }"
    col = text.index("@m[1, 2]") + 1
    assert a[7].span == Span(1, col, 1, col + len("@m[1, 2]"))


def test_precedence_and_associativity() -> None:
    e = expr("1 + 2 * 3 - 4")
    assert isinstance(e, n.Binary) and e.op == "-"
    assert isinstance(e.left, n.Binary) and e.left.op == "+"
    assert isinstance(e.left.right, n.Binary) and e.left.right.op == "*"
    e = expr("a || b && c | d ^ e & f == g < h << i")
    ops = []
    while isinstance(e, n.Binary):
        ops.append(e.op)
        e = e.right
    assert ops == ["||", "&&", "|", "^", "&", "==", "<", "<<"]


def test_ternary_right_associative() -> None:
    e = expr("a ? 1 : b ? 2 : 3")
    assert isinstance(e, n.Ternary) and isinstance(e.otherwise, n.Ternary)
    assert e.span == Span(1, 9, 1, 26)


def test_unary_and_incdec() -> None:
    for op in "-!~*&":
        e = expr(f"{op}$x")
        assert isinstance(e, n.Unary) and e.op == op
    pre = expr("++@m[1]")
    assert isinstance(pre, n.IncDec) and pre.prefix and pre.op == "++"
    post = expr("$x--")
    assert isinstance(post, n.IncDec) and not post.prefix and post.op == "--"
    assert post.span == Span(1, 9, 1, 13)


def test_postfix_chain() -> None:
    e = expr("args->foo.bar[2].0")
    assert isinstance(e, n.TupleIndex) and e.index == 0
    idx = e.expr
    assert isinstance(idx, n.Index)
    dot = idx.expr
    assert isinstance(dot, n.FieldAccess) and dot.field_name == "bar" and not dot.arrow
    arrow = dot.expr
    assert isinstance(arrow, n.FieldAccess) and arrow.arrow and arrow.field_name == "foo"
    assert e.span == Span(1, 9, 1, 27)


def test_casts() -> None:
    cases = {
        "(uint8)x": ("uint8", 0, None),
        "(int32)$y": ("int32", 0, None),
        "(struct task_struct *)curtask": ("struct task_struct", 1, None),
        "(uint8*)p": ("uint8", 1, None),
        "(char[16])x": ("char", 0, 16),
        "(unsigned  int)x": ("unsigned int", 0, None),
        "(union u **)x": ("union u", 2, None),
    }
    for text, (name, depth, size) in cases.items():
        e = expr(text)
        assert isinstance(e, n.Cast), text
        assert (e.type_name.name, e.type_name.pointer_depth, e.type_name.array_size) == (
            name, depth, size)
    paren = expr("(x)")
    assert isinstance(paren, n.Identifier)


def test_tuples_and_records() -> None:
    t = expr('(1, "a", $x)')
    assert isinstance(t, n.TupleExpr) and len(t.elems) == 3
    assert t.span == Span(1, 9, 1, 21)
    r = expr("(a=1, b=2)")
    assert isinstance(r, n.RecordExpr) and [f for f, _ in r.fields] == ["a", "b"]


def test_sizeof_offsetof() -> None:
    s = expr("sizeof(struct task_struct)")
    assert isinstance(s, n.Sizeof) and isinstance(s.target, n.TypeName)
    s = expr("sizeof($x)")
    assert isinstance(s, n.Sizeof) and isinstance(s.target, n.Variable)
    o = expr("offsetof(struct x, a.b)")
    assert isinstance(o, n.Offsetof) and o.field_names == ["a", "b"]
    assert isinstance(o.type_name, n.TypeName) and o.type_name.name == "struct x"


def test_assignments() -> None:
    ops = ["=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="]
    body = " ".join(f"$x {op} 1;" for op in ops) + " @m[1, 2] = count();"
    result = stmts(body)
    assert all(isinstance(s, n.Assign) for s in result)
    got = [s.op for s in result if isinstance(s, n.Assign)]
    assert got == [None, "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", None]
    last = result[-1]
    assert isinstance(last, n.Assign) and isinstance(last.target, n.MapRef)
    assert isinstance(last.value, n.Call) and last.value.name == "count"


def test_var_decl() -> None:
    a, b, c = stmts("let $x; let $y = 1; let $z: uint32 = 5;")
    assert isinstance(a, n.VarDecl) and a.name == "x" and a.value is None
    assert isinstance(b, n.VarDecl) and isinstance(b.value, n.Int)
    assert isinstance(c, n.VarDecl) and c.type_name is not None and c.type_name.name == "uint32"
    assert c.span == Span(1, 29, 1, 47)  # `let $z: uint32 = 5` without the `;`


def test_if_else_chain() -> None:
    (s,) = stmts("if (1) { print(1) } else if (2) { print(2) } else { print(3) }")
    assert isinstance(s, n.If)
    assert s.otherwise is not None and len(s.otherwise.stmts) == 1
    inner = s.otherwise.stmts[0]
    assert isinstance(inner, n.If) and inner.otherwise is not None
    assert isinstance(inner.otherwise.stmts[0], n.ExprStmt)


def test_loops_and_jumps() -> None:
    body = ("unroll(3) { break; } while ($i < 3) { continue; } "
            "for ($kv : @m) { return; } for ($i : 0..10) { return 1 }")
    u, w, f1, f2 = stmts(body)
    assert isinstance(u, n.Unroll) and isinstance(u.body.stmts[0], n.Break)
    assert isinstance(w, n.While) and isinstance(w.body.stmts[0], n.Continue)
    assert isinstance(f1, n.For) and f1.var == "kv" and isinstance(f1.iterable, n.MapRef)
    assert isinstance(f2, n.For) and isinstance(f2.iterable, n.Range)
    ret = f2.body.stmts[0]
    assert isinstance(ret, n.Return) and isinstance(ret.value, n.Int)


def test_for_without_parentheses() -> None:
    """`for $x : iter { }` reads as `for ($x : iter) { }`, over a range or a map."""
    f1, f2 = stmts("for $i : ((uint64)0)..($n + 1) { print($i); } for $kv : @m { }")
    assert isinstance(f1, n.For) and f1.var == "i" and isinstance(f1.iterable, n.Range)
    assert isinstance(f1.iterable.start, n.Cast) and isinstance(f1.iterable.end, n.Binary)
    assert isinstance(f1.body.stmts[0], n.ExprStmt)
    assert isinstance(f2, n.For) and isinstance(f2.iterable, n.MapRef) and not f2.body.stmts


def test_statements_without_semicolons_after_blocks() -> None:
    result = stmts("if (1) { } print(1); if (2) { } else { } $x = 1")
    assert [type(s).__name__ for s in result] == ["If", "ExprStmt", "If", "Assign"]


def test_preamble() -> None:
    text = (
        "#include <linux/sched.h>\n"
        '#include "my.h"\n'
        "#define MAX 10\n"
        "struct X { int a; struct { int b; } c; };\n"
        "typedef unsigned int u32_t;\n"
        "enum E { A, B }\n"
        "config = { max_map_keys = 10; stack_mode = perf }\n"
        "BEGIN { }"
    )
    pre = program(text).preamble
    inc1, inc2, define, struct, typedef, enum, config = pre
    assert isinstance(inc1, n.Include) and inc1.path == "linux/sched.h" and inc1.system
    assert isinstance(inc2, n.Include) and inc2.path == "my.h" and not inc2.system
    assert isinstance(define, n.Define) and (define.name, define.value) == ("MAX", "10")
    assert isinstance(struct, n.CDefinition) and (struct.kind, struct.name) == ("struct", "X")
    assert struct.text.startswith("struct X {") and struct.span.line == 4
    assert isinstance(typedef, n.CDefinition) and typedef.name == "u32_t"
    assert isinstance(enum, n.CDefinition) and enum.kind == "enum" and enum.name == "E"
    assert isinstance(config, n.Config)
    assert [k for k, _ in config.items] == ["max_map_keys", "stack_mode"]
    assert isinstance(config.items[1][1], n.Identifier)


def test_probe_spans() -> None:
    prog = program("BEGIN\n{\n  @x = 1;\n}\n")
    probe = prog.probes[0]
    assert probe.span == Span(1, 1, 4, 2)
    assert probe.body.span == Span(2, 1, 4, 2)
    assert probe.body.stmts[0].span == Span(3, 3, 3, 9)


# ---------------------------------------------------------------- the current language


def test_durations_and_c_suffixes() -> None:
    values = [(e := expr(t), e.value if isinstance(e, n.Int) else None)[1]
              for t in ["100ns", "5us", "100ms", "1s", "1m", "2h", "1d", "123UL", "7u",
                        "0x10ull", "1_000ms"]]
    assert values == [100, 5000, 100_000_000, 10**9, 60 * 10**9, 7200 * 10**9,
                      86400 * 10**9, 123, 7, 16, 10**9]


def test_floating_point_is_a_located_error() -> None:
    prog, diags = parse(Source("stdin", "begin { $x = 1.5; }"))
    assert prog is None and diags[0].span == Span(1, 14, 1, 17)
    assert diags[0].message.startswith("floating-point numbers are not supported")


def test_block_expression_value_and_statement_block() -> None:
    a, b = stmts("$a = { let $b = 1; $b }; { print(1); }")
    assert isinstance(a, n.Assign) and isinstance(a.value, n.BlockExpr)
    assert isinstance(a.value.stmts[0], n.VarDecl) and isinstance(a.value.value, n.Variable)
    assert isinstance(b, n.ExprStmt) and isinstance(b.expr, n.BlockExpr)
    assert b.expr.value is None and len(b.expr.stmts) == 1


def test_discard_and_if_without_parentheses() -> None:
    d, i = stmts("_ = has_key(@a, 1); if $x > 1 { print(1) } else if @y { }")
    assert isinstance(d, n.ExprStmt) and d.discard and isinstance(d.expr, n.Call)
    assert isinstance(i, n.If) and isinstance(i.cond, n.Binary)
    assert i.otherwise is not None and isinstance(i.otherwise.stmts[0], n.If)


def test_top_level_items() -> None:
    prog = program('import "lib.bt";\nconfig = { max_map_keys = 2 }\n'
                   "let @a = lruhash(10);\nmacro add(x, $v, @m) { x + 1 }\n"
                   "macro greet { print(1); }\nmine=begin { greet!(); }")
    imp, cfg = prog.preamble
    assert isinstance(imp, n.Import) and imp.path == "lib.bt"
    assert isinstance(cfg, n.Config) and cfg.key_spans == [Span(2, 12, 2, 24)]
    (decl,) = prog.map_decls
    assert (decl.name, decl.kind, decl.args[0].value) == ("@a", "lruhash", 10)  # type: ignore[attr-defined]
    add, greet = prog.macros
    assert [(p.kind, p.name) for p in add.params] == [("expr", "x"), ("var", "v"),
                                                      ("map", "@m")]
    assert greet.params == [] and isinstance(add.body.value, n.Binary)
    ap = prog.probes[0].attach_points[0]
    assert (ap.raw, ap.label, ap.span) == ("begin", "mine", Span(6, 6, 6, 11))


def test_section_order_is_checked() -> None:
    for text, message in [
        ("begin { }\nconfig = { a = 1 }",
         "the config block must come before probes, macros and map declarations"),
        ('macro f() { 1 }\nimport "x.bt";',
         "an import must come before probes, macros and map declarations"),
        ("config = { a = 1 }\nconfig = { b = 1 }\nbegin { }", "only one config block is allowed"),
    ]:
        prog, diags = parse(Source("stdin", text))
        assert prog is None and [d.message for d in diags] == [message]
