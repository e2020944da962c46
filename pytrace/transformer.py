"""Lark parse tree -> pytrace.nodes dataclasses: one method per grammar rule, spans on all."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from typing import Any

from lark import Token, Transformer, v_args

from pytrace import nodes
from pytrace.source import NO_SPAN, Span

_U64_MAX = (1 << 64) - 1
# bpftrace's escapes (and no others: "\q" is an error, as in bpftrace)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"'}
_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", re.DOTALL)


class TransformError(Exception):
    """A construct that parsed but is not valid (bad literal, bad assignment target)."""

    def __init__(self, message: str, span: Span) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


def token_span(tok: Token) -> Span:
    """The span of one Lark token."""
    return Span(tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)


def _start(item: object) -> tuple[int, int] | None:
    if isinstance(item, Token):
        return (item.line or 0, item.column or 0)
    if isinstance(item, nodes.Node):
        return (item.span.line, item.span.col) if item.span.line else None
    if isinstance(item, (list, tuple)):
        for sub in item:
            pos = _start(sub)
            if pos is not None:
                return pos
    return None


def _end(item: object) -> tuple[int, int] | None:
    if isinstance(item, Token):
        return (item.end_line or 0, item.end_column or 0)
    if isinstance(item, nodes.Node):
        return (item.span.end_line, item.span.end_col) if item.span.line else None
    if isinstance(item, (list, tuple)):
        for sub in reversed(item):
            pos = _end(sub)
            if pos is not None:
                return pos
    return None


def span_of(children: list[Any]) -> Span:
    """The span from the first to the last positioned child (tokens are all kept)."""
    start, end = _start(children), _end(children)
    if start is None or end is None:
        return NO_SPAN
    return Span(start[0], start[1], end[0], end[1])


def _with_span(f: Callable[..., Any], data: str, children: list[Any], meta: Any) -> Any:
    return f(span_of(children), children)


def _nodes(children: list[Any]) -> list[Any]:
    """Children without the punctuation/keyword tokens (keep_all_tokens keeps them)."""
    return [c for c in children if not isinstance(c, Token)]


# The calls that take a type written bare (`container_of(p, struct S, m)`).
TYPE_ARGUMENT_CALLS = frozenset({"container_of"})


def _call_args(name: str, args: list[Any]) -> list[nodes.Expr]:
    """A call's arguments; a type among them becomes a `typeof(T)` (it is one already
    when written `typeof(...)`). Only container_of takes a type written bare."""
    out: list[nodes.Expr] = []
    for arg in args:
        if not isinstance(arg, nodes.TypeName):
            out.append(arg)
        elif arg.of is not None and not arg.pointer_depth and arg.array_size is None:
            out.append(arg.of)
        elif arg.of is None and name not in TYPE_ARGUMENT_CALLS:
            raise TransformError(f"syntax error, a type argument must be written "
                                 f"typeof({arg.name}{'*' * arg.pointer_depth})", arg.span)
        else:
            out.append(nodes.Typeof(arg, span=arg.span))
    return out


def _tokens(children: list[Any], *types: str) -> list[Token]:
    return [c for c in children if isinstance(c, Token) and c.type in types]


DURATIONS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
             "m": 60_000_000_000, "h": 3_600_000_000_000, "d": 86_400_000_000_000}
_SUFFIX_RE = re.compile(r"(ns|us|ms|s|m|h|d|[uU](?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU]?)$")


def _split_suffix(s: str) -> tuple[str, int]:
    """An integer's text without its C or duration suffix, and the suffix's multiplier."""
    if s[:2].lower() == "0x":
        return s.rstrip("uUlL"), 1
    m = _SUFFIX_RE.search(s)
    if m is None or m.start() == 0:
        return s, 1
    return s[:m.start()], DURATIONS.get(m.group(1), 1)


def parse_int(text: str, span: Span) -> int:
    """Decode an integer literal: decimal, 0x hex, 0 octal, 1_000, 1e6, C suffixes (123UL)
    and durations (100ms, 1s, 2m … in nanoseconds)."""
    s, mult = _split_suffix(text.replace("_", ""))
    value = _parse_digits(s, text, span) * mult
    if value > _U64_MAX:
        raise TransformError(f"integer literal out of range: {text}", span)
    return value


def _parse_digits(s: str, text: str, span: Span) -> int:
    low = s.lower()
    try:
        if low.startswith("0x"):
            value = int(s[2:], 16)
        elif "e" in low:
            mantissa, exp = low.split("e", 1)
            value = int(mantissa) * 10 ** int(exp)
        elif len(s) > 1 and s.startswith("0"):
            value = int(s, 8)
        else:
            value = int(s)
    except ValueError:
        raise TransformError(f"invalid integer literal: {text}", span) from None
    return value


_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that surrogateescape kept


def invalid_escape(raw: str) -> str | None:
    """The first escape of a quoted string literal that bpftrace refuses (`\\q`)."""
    for m in _ESCAPE_RE.finditer(raw[1:-1]):
        esc = m.group(1)
        if not (esc in _ESCAPES or (esc[0] == "x" and len(esc) > 1) or esc[0] in "01234567"):
            return "\\" + esc
    return None


def decode_string(raw: str) -> str:
    """Decode the escapes of a quoted string literal (quotes included in raw)."""

    def repl(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc[0] == "x" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        if esc[0] in "01234567":
            return chr(int(esc, 8) & 0xFF)
        return _ESCAPES.get(esc, esc)

    return _ESCAPE_RE.sub(repl, raw[1:-1])


_PRECEDENCE = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
    "<": 7, "<=": 7, ">": 7, ">=": 7, "<<": 8, ">>": 8,
    "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}


def _reduce(operands: list[nodes.Expr], ops: list[str]) -> None:
    right, left = operands.pop(), operands.pop()
    span = left.span.merge(right.span)
    operands.append(nodes.Binary(ops.pop(), left, right, span=span))


def _c_def_name(kind: str, text: str) -> str:
    if kind != "typedef":
        m = re.match(r"\w+\s+(\w+)", text)
        return m.group(1) if m else ""
    body = re.sub(r"\{.*\}", " ", text, flags=re.DOTALL)
    names = re.findall(r"[A-Za-z_]\w*", re.sub(r"\[[^\]]*\]", " ", body))
    return names[-1] if names else ""


_ORDER = (
    (nodes.Include, nodes.Define, nodes.CDefinition),
    (nodes.Config, nodes.Import),
    (nodes.Probe, nodes.MacroDef, nodes.MapDecl),
)
_ORDER_WORDS = ("C definitions (#include, #define, struct)", "the config block and imports",
                "probes, macros and map declarations")


def _phase(item: object) -> int:
    return next((i for i, kinds in enumerate(_ORDER) if isinstance(item, kinds)), 2)


def check_order(items: list[Any]) -> None:
    """The reference's section order: C definitions, then config/imports, then the body;
    a single config block."""
    seen = 0
    configs = 0
    for item in items:
        phase = _phase(item)
        if isinstance(item, nodes.Config):
            configs += 1
            if configs > 1:
                raise TransformError("only one config block is allowed", item.span)
        if phase < seen:
            what = "the config block" if isinstance(item, nodes.Config) else (
                "an import" if isinstance(item, nodes.Import) else "C definitions")
            raise TransformError(f"{what} must come before {_ORDER_WORDS[seen]}", item.span,
                                 )
        seen = max(seen, phase)


def _attach_point(tok: Token) -> nodes.AttachPoint:
    """An ATTACH_POINT token, with a `NAME=` prefix split off as the probe's label."""
    text = str(tok)
    m = re.match(r"([A-Za-z_]\w*)[ \t]*=[ \t]*", text)
    if m is None:
        return nodes.AttachPoint(text, span=token_span(tok))
    span = token_span(tok)
    return nodes.AttachPoint(text[m.end():], m.group(1),
                             span=Span(span.line, span.col + m.end(), span.end_line,
                                       span.end_col))


def _is_block_stmt(stmt: nodes.Stmt) -> bool:
    """A `{ ... }` that stands as a statement (block_stmt) keeps its statement reading."""
    return isinstance(stmt, nodes.ExprStmt) and isinstance(stmt.expr, nodes.BlockExpr) \
        and stmt.span == stmt.expr.span


@v_args(wrapper=_with_span)
class ToNodes(Transformer[Token, nodes.Program]):
    """Build nodes from a tree parsed with keep_all_tokens (spans come from the tokens)."""

    # ---------------------------------------------------------------- top level

    def start(self, span: Span, children: list[Any]) -> nodes.Program:
        items = _nodes(children)
        check_order(items)
        body = (nodes.Probe, nodes.MacroDef, nodes.MapDecl)
        return nodes.Program(
            preamble=[c for c in items if not isinstance(c, body)],
            probes=[c for c in items if isinstance(c, nodes.Probe)],
            macros=[c for c in items if isinstance(c, nodes.MacroDef)],
            map_decls=[c for c in items if isinstance(c, nodes.MapDecl)], span=span)

    def import_stmt(self, span: Span, children: list[Any]) -> nodes.Import:
        tok = _tokens(children, "STRING")[0]
        return nodes.Import(decode_string(str(tok)), span=span)

    def macro_def(self, span: Span, children: list[Any]) -> nodes.MacroDef:
        name = str(_tokens(children, "IDENT")[0])
        items = _nodes(children)
        params: list[nodes.MacroParam] = items[0] if len(items) == 2 else []
        return nodes.MacroDef(name, params, items[-1], span=span)

    def macro_params(self, span: Span, children: list[Any]) -> list[nodes.MacroParam]:
        params: list[nodes.MacroParam] = _nodes(children)
        seen: set[str] = set()
        for p in params:
            if p.name in seen:
                raise TransformError(f"macro parameter {p.name} is given twice", p.span)
            seen.add(p.name)
        return params

    def macro_param(self, span: Span, children: list[Any]) -> nodes.MacroParam:
        tok: Token = children[0]
        kind = {"VAR": "var", "MAP": "map"}.get(tok.type, "expr")
        name = str(tok)[1:] if kind == "var" else str(tok)
        return nodes.MacroParam(kind, name, span=span)

    def map_decl(self, span: Span, children: list[Any]) -> nodes.MapDecl:
        name = str(_tokens(children, "MAP")[0])
        kind = str(_tokens(children, "IDENT")[0])
        return nodes.MapDecl(name, kind, _nodes(children), span=span)

    def include(self, span: Span, children: list[Any]) -> nodes.Include:
        text = str(children[0])
        m = re.search(r"(<([^>]*)>|\"([^\"]*)\")", text)
        assert m is not None
        system = m.group(1).startswith("<")
        path = m.group(2) if system else m.group(3)
        return nodes.Include(path, system, span=span)

    def define(self, span: Span, children: list[Any]) -> nodes.Define:
        m = re.match(r"#\s*define\s+(\w+)(.*)", str(children[0]), re.DOTALL)
        assert m is not None
        value = m.group(2).replace("\\\n", " ").strip()
        return nodes.Define(m.group(1), value, span=span)

    def c_definition(self, span: Span, children: list[Any]) -> nodes.CDefinition:
        text = str(children[0]).strip()
        kind = text.split(None, 1)[0]
        return nodes.CDefinition(kind, _c_def_name(kind, text), text, span=span)

    def config(self, span: Span, children: list[Any]) -> nodes.Config:
        items = _nodes(children)
        return nodes.Config([(name, value) for name, value, _ in items],
                            [key for _, _, key in items], span=span)

    def config_item(self, span: Span,
                    children: list[Any]) -> builtins.tuple[str, nodes.Expr, Span]:
        return (str(children[0]), _nodes(children)[0], token_span(children[0]))

    def probe(self, span: Span, children: list[Any]) -> nodes.Probe:
        items = _nodes(children)
        attach: list[nodes.AttachPoint] = items[0]
        pred = items[1] if len(items) == 3 else None
        return nodes.Probe(attach, pred, items[-1], span=span)

    def attach_list(self, span: Span, children: list[Any]) -> list[nodes.AttachPoint]:
        return [_attach_point(t) for t in _tokens(children, "ATTACH_POINT")]

    def predicate(self, span: Span, children: list[Any]) -> nodes.Expr:
        return _nodes(children)[0]  # type: ignore[no-any-return]

    # ---------------------------------------------------------------- statements

    def block(self, span: Span, children: list[Any]) -> nodes.Block:
        return nodes.Block(_nodes(children), span=span)

    def block_stmt(self, span: Span, children: list[Any]) -> nodes.ExprStmt:
        return nodes.ExprStmt(children[0], span=span)

    def block_expr(self, span: Span, children: list[Any]) -> nodes.BlockExpr:
        stmts: list[nodes.Stmt] = _nodes(children)
        value: nodes.Expr | None = None
        closed = len(children) >= 2 and isinstance(children[-2], Token) \
            and children[-2].type in ("SEMICOLON", "RBRACE", "LBRACE")
        last = stmts[-1] if stmts else None
        if not closed and isinstance(last, nodes.ExprStmt) and not last.discard \
                and not _is_block_stmt(last):
            value = last.expr
            stmts = stmts[:-1]
        return nodes.BlockExpr(stmts, value, span=span)

    def expr_stmt(self, span: Span, children: list[Any]) -> nodes.ExprStmt:
        return nodes.ExprStmt(children[0], span=span)

    def assign(self, span: Span, children: list[Any]) -> nodes.Stmt:
        target, op_tok, value = children
        if isinstance(target, nodes.Identifier) and target.name == "_" and op_tok == "=":
            return nodes.ExprStmt(value, discard=True, span=span)
        if not isinstance(target, (nodes.Variable, nodes.MapRef)):
            raise TransformError(
                "syntax error, the left side of an assignment must be a $variable or a @map",
                target.span,
            )
        op = None if op_tok == "=" else str(op_tok)[:-1]
        return nodes.Assign(target, value, op, span=span)

    def var_decl(self, span: Span, children: list[Any]) -> nodes.VarDecl:
        name = str(_tokens(children, "VAR")[0])[1:]
        items = _nodes(children)
        type_name = next((c for c in items if isinstance(c, nodes.TypeName)), None)
        value = next((c for c in items if isinstance(c, nodes.Expr)), None)
        return nodes.VarDecl(name, type_name, value, span=span)

    def break_stmt(self, span: Span, children: list[Any]) -> nodes.Break:
        return nodes.Break(span=span)

    def continue_stmt(self, span: Span, children: list[Any]) -> nodes.Continue:
        return nodes.Continue(span=span)

    def return_stmt(self, span: Span, children: list[Any]) -> nodes.Return:
        items = _nodes(children)
        return nodes.Return(items[0] if items else None, span=span)

    def if_stmt(self, span: Span, children: list[Any]) -> nodes.If:
        items = _nodes(children)
        otherwise = items[2] if len(items) > 2 else None
        if isinstance(otherwise, nodes.If):
            otherwise = nodes.Block([otherwise], span=otherwise.span)
        comptime = any(getattr(c, "type", None) == "COMPTIME" for c in children)
        return nodes.If(items[0], items[1], otherwise, comptime, span=span)

    def unroll_stmt(self, span: Span, children: list[Any]) -> nodes.Unroll:
        count, body = _nodes(children)
        return nodes.Unroll(count, body, span=span)

    def while_stmt(self, span: Span, children: list[Any]) -> nodes.While:
        cond, body = _nodes(children)
        return nodes.While(cond, body, span=span)

    def for_stmt(self, span: Span, children: list[Any]) -> nodes.For:
        var = str(_tokens(children, "VAR")[0])[1:]
        iterable, body = _nodes(children)
        return nodes.For(var, iterable, body, span=span)

    def for_iter(self, span: Span, children: list[Any]) -> nodes.MapRef:
        expr = children[0]
        if not isinstance(expr, nodes.MapRef) or expr.keys:
            raise TransformError(
                "syntax error, a for loop iterates over a @map or a range a..b", expr.span
            )
        return expr

    def for_range(self, span: Span, children: list[Any]) -> nodes.Range:
        start, end = _nodes(children)
        return nodes.Range(start, end, span=span)

    # ---------------------------------------------------------------- expressions

    def ternary(self, span: Span, children: list[Any]) -> nodes.Ternary:
        cond, then, otherwise = _nodes(children)
        return nodes.Ternary(cond, then, otherwise, span=span)

    def binexpr(self, span: Span, children: list[Any]) -> nodes.Expr:
        """`a op b op c …` grouped by C precedence, all left-associative."""
        operands: list[nodes.Expr] = [children[0]]
        ops: list[str] = []
        for i in range(1, len(children), 2):
            op = str(children[i])
            while ops and _PRECEDENCE[ops[-1]] >= _PRECEDENCE[op]:
                _reduce(operands, ops)
            ops.append(op)
            operands.append(children[i + 1])
        while ops:
            _reduce(operands, ops)
        return operands[0]

    def unary(self, span: Span, children: list[Any]) -> nodes.Unary:
        op, operand = children
        return nodes.Unary(str(op), operand, span=span)

    def pre_incdec(self, span: Span, children: list[Any]) -> nodes.IncDec:
        op, target = children
        return self._incdec(str(op), True, target, span)

    def post_incdec(self, span: Span, children: list[Any]) -> nodes.IncDec:
        target, op = children
        return self._incdec(str(op), False, target, span)

    @staticmethod
    def _incdec(op: str, prefix: bool, target: nodes.Expr, span: Span) -> nodes.IncDec:
        if not isinstance(target, (nodes.Variable, nodes.MapRef)):
            raise TransformError(
                f"syntax error, {op} applies to a $variable or a @map", target.span
            )
        return nodes.IncDec(op, prefix, target, span=span)

    def cast(self, span: Span, children: list[Any]) -> nodes.Cast:
        type_name, expr = _nodes(children)
        return nodes.Cast(type_name, expr, span=span)

    def field(self, span: Span, children: list[Any]) -> nodes.FieldAccess:
        return nodes.FieldAccess(children[0], str(children[2]), False, span=span)

    def arrow_field(self, span: Span, children: list[Any]) -> nodes.FieldAccess:
        return nodes.FieldAccess(children[0], str(children[2]), True, span=span)

    def tuple_index(self, span: Span, children: list[Any]) -> nodes.TupleIndex:
        tok: Token = children[2]
        index = parse_int(str(tok), token_span(tok))
        return nodes.TupleIndex(children[0], index, span=span)

    def index(self, span: Span, children: list[Any]) -> nodes.Index:
        expr, index = _nodes(children)
        return nodes.Index(expr, index, span=span)

    def int_lit(self, span: Span, children: list[Any]) -> nodes.Int:
        return nodes.Int(parse_int(str(children[0]), span), span=span)

    def true_lit(self, span: Span, children: list[Any]) -> nodes.Int:
        return nodes.Int(1, True, span=span)

    def false_lit(self, span: Span, children: list[Any]) -> nodes.Int:
        return nodes.Int(0, True, span=span)

    def str_lit(self, span: Span, children: list[Any]) -> nodes.Str:
        raw = str(children[0])
        bad = _NOT_UTF8.search(raw)
        if bad is not None:  # the file or -e argument had bytes that are not UTF-8
            col = span.col + bad.start()
            at = Span(span.line, col, span.line, col + 1) if span.line == span.end_line else span
            raise TransformError(f"invalid UTF-8 in string literal (byte 0x{ord(bad.group()) - 0xDC00:02x})", at)
        esc = invalid_escape(raw)
        if esc is not None:
            raise TransformError(f"invalid escape character '{esc}'", span)
        return nodes.Str(decode_string(raw), span=span)

    def variable(self, span: Span, children: list[Any]) -> nodes.Variable:
        return nodes.Variable(str(children[0])[1:], span=span)

    def pos_param(self, span: Span, children: list[Any]) -> nodes.Expr:
        index = int(str(children[0])[1:])
        if index == 0:
            raise TransformError("$0 is not a positional parameter (they start at $1)", span)
        return nodes.PositionalParam(index, span=span)

    def pos_count(self, span: Span, children: list[Any]) -> nodes.PositionalCount:
        return nodes.PositionalCount(span=span)

    def identifier(self, span: Span, children: list[Any]) -> nodes.Identifier:
        return nodes.Identifier(str(children[0]), span=span)

    def primary(self, span: Span, children: list[Any]) -> nodes.Expr:
        """`( expr )`: the inner expression (a 1-tuple is just parentheses)."""
        return _nodes(children)[0]  # type: ignore[no-any-return]

    def tuple(self, span: Span, children: list[Any]) -> nodes.TupleExpr:
        return nodes.TupleExpr(_nodes(children), span=span)

    def record(self, span: Span, children: list[Any]) -> nodes.RecordExpr:
        return nodes.RecordExpr(_nodes(children), span=span)

    def record_field(self, span: Span, children: list[Any]) -> builtins.tuple[str, nodes.Expr]:
        return (str(children[0]), children[2])

    def map_ref(self, span: Span, children: list[Any]) -> nodes.MapRef:
        return nodes.MapRef(str(children[0]), _nodes(children), span=span)

    def call(self, span: Span, children: list[Any]) -> nodes.Call:
        name = str(children[0])
        return nodes.Call(name, _call_args(name, _nodes(children)), span=span)

    def macro_call(self, span: Span, children: list[Any]) -> nodes.Call:
        """`name!(args)`: a call of a macro; the macros pass expands it."""
        name = str(children[0])
        return nodes.Call(name, _call_args(name, _nodes(children)), bang=True, span=span)

    def float_lit(self, span: Span, children: list[Any]) -> nodes.Expr:
        raise TransformError("floating-point numbers are not supported (BPF has no floating "
                             "point); use integers, e.g. scaled by 1000", span)

    def sizeof(self, span: Span, children: list[Any]) -> nodes.Sizeof:
        return nodes.Sizeof(_nodes(children)[0], span=span)

    def offsetof(self, span: Span, children: list[Any]) -> nodes.Offsetof:
        target = _nodes(children)[0]
        fields = [str(t) for t in _tokens(children, "IDENT")]
        return nodes.Offsetof(target, fields, span=span)

    # ---------------------------------------------------------------- types

    def type(self, span: Span, children: list[Any]) -> nodes.TypeName:
        words = [str(t) for t in children if isinstance(t, Token) and t.type != "STAR"]
        name = " ".join(" ".join(w.split()) for w in words)
        of = next((c for c in children if isinstance(c, nodes.Typeof)), None)
        sizes = [c for c in children if isinstance(c, int) and not isinstance(c, bool)]
        array_size = sizes[0] if sizes else None
        # stars before the array size point at the element, stars after it at the array
        cut = next((i for i, c in enumerate(children)
                    if isinstance(c, int) and not isinstance(c, bool)), len(children))
        stars = sum(1 for c in children[:cut] if isinstance(c, Token) and c.type == "STAR")
        outer = sum(1 for c in children[cut:] if isinstance(c, Token) and c.type == "STAR")
        return nodes.TypeName(name or "typeof", stars, array_size, of, outer, span=span)

    def named_type(self, span: Span, children: list[Any]) -> nodes.TypeName:
        """`let $x: name`: a typedef's or a macro type parameter's name as the type."""
        return self.type(span, children)

    def typeinfo(self, span: Span, children: list[Any]) -> nodes.Typeinfo:
        return nodes.Typeinfo(_nodes(children)[0], span=span)

    def typeof(self, span: Span, children: list[Any]) -> nodes.Typeof:
        return nodes.Typeof(_nodes(children)[0], span=span)

    def array_size(self, span: Span, children: list[Any]) -> int:
        tok: Token = children[1]
        return parse_int(str(tok), token_span(tok))
