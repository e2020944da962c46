"""Lark parse tree -> pytrace.nodes dataclasses: one method per grammar rule, spans on all."""

from __future__ import annotations

import builtins
import re
from typing import Any

from lark import Token, Transformer, v_args
from lark.tree import Meta

from pytrace import nodes
from pytrace.source import Span

_U64_MAX = (1 << 64) - 1
_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
    "\\": "\\", '"': '"', "'": "'", "?": "?", "e": "\x1b",
}
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


def _span(meta: Meta) -> Span:
    if getattr(meta, "empty", True):
        return Span(0, 0, 0, 0)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _nodes(children: list[Any]) -> list[Any]:
    """Children without the punctuation/keyword tokens (keep_all_tokens keeps them)."""
    return [c for c in children if not isinstance(c, Token)]


def _tokens(children: list[Any], *types: str) -> list[Token]:
    return [c for c in children if isinstance(c, Token) and c.type in types]


def parse_int(text: str, span: Span) -> int:
    """Decode an integer literal: decimal, 0x hex, 0 octal, 1_000, 1e6."""
    s = text.replace("_", "")
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
    if value > _U64_MAX:
        raise TransformError(f"integer literal out of range: {text}", span)
    return value


def decode_string(raw: str) -> str:
    """Decode the C escapes of a quoted string literal (quotes included in raw)."""

    def repl(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc[0] == "x" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        if esc[0] in "01234567":
            return chr(int(esc, 8) & 0xFF)
        return _ESCAPES.get(esc, esc)

    return _ESCAPE_RE.sub(repl, raw[1:-1])


def _c_def_name(kind: str, text: str) -> str:
    if kind != "typedef":
        m = re.match(r"\w+\s+(\w+)", text)
        return m.group(1) if m else ""
    body = re.sub(r"\{.*\}", " ", text, flags=re.DOTALL)
    names = re.findall(r"[A-Za-z_]\w*", re.sub(r"\[[^\]]*\]", " ", body))
    return names[-1] if names else ""


@v_args(meta=True)
class ToNodes(Transformer[Token, nodes.Program]):
    """Build nodes from a tree parsed with keep_all_tokens and propagate_positions."""

    # ---------------------------------------------------------------- top level

    def start(self, meta: Meta, children: list[Any]) -> nodes.Program:
        items = _nodes(children)
        probes = [c for c in items if isinstance(c, nodes.Probe)]
        preamble = [c for c in items if not isinstance(c, nodes.Probe)]
        return nodes.Program(preamble=preamble, probes=probes, span=_span(meta))

    def include(self, meta: Meta, children: list[Any]) -> nodes.Include:
        text = str(children[0])
        m = re.search(r"(<([^>]*)>|\"([^\"]*)\")", text)
        assert m is not None
        system = m.group(1).startswith("<")
        path = m.group(2) if system else m.group(3)
        return nodes.Include(path, system, span=_span(meta))

    def define(self, meta: Meta, children: list[Any]) -> nodes.Define:
        m = re.match(r"#\s*define\s+(\w+)(.*)", str(children[0]), re.DOTALL)
        assert m is not None
        value = m.group(2).replace("\\\n", " ").strip()
        return nodes.Define(m.group(1), value, span=_span(meta))

    def c_definition(self, meta: Meta, children: list[Any]) -> nodes.CDefinition:
        text = str(children[0]).strip()
        kind = text.split(None, 1)[0]
        return nodes.CDefinition(kind, _c_def_name(kind, text), text, span=_span(meta))

    def config(self, meta: Meta, children: list[Any]) -> nodes.Config:
        return nodes.Config(_nodes(children), span=_span(meta))

    def config_item(self, meta: Meta, children: list[Any]) -> builtins.tuple[str, nodes.Expr]:
        return (str(children[0]), _nodes(children)[0])

    def probe(self, meta: Meta, children: list[Any]) -> nodes.Probe:
        items = _nodes(children)
        attach: list[nodes.AttachPoint] = items[0]
        pred = items[1] if len(items) == 3 else None
        return nodes.Probe(attach, pred, items[-1], span=_span(meta))

    def attach_list(self, meta: Meta, children: list[Any]) -> list[nodes.AttachPoint]:
        return [
            nodes.AttachPoint(str(t), span=token_span(t))
            for t in _tokens(children, "ATTACH_POINT")
        ]

    def predicate(self, meta: Meta, children: list[Any]) -> nodes.Expr:
        return _nodes(children)[0]  # type: ignore[no-any-return]

    # ---------------------------------------------------------------- statements

    def block(self, meta: Meta, children: list[Any]) -> nodes.Block:
        return nodes.Block(_nodes(children), span=_span(meta))

    def expr_stmt(self, meta: Meta, children: list[Any]) -> nodes.ExprStmt:
        return nodes.ExprStmt(children[0], span=_span(meta))

    def assign(self, meta: Meta, children: list[Any]) -> nodes.Assign:
        target, op_tok, value = children
        if not isinstance(target, (nodes.Variable, nodes.MapRef)):
            raise TransformError(
                "syntax error, the left side of an assignment must be a $variable or a @map",
                target.span,
            )
        op = None if op_tok == "=" else str(op_tok)[:-1]
        return nodes.Assign(target, value, op, span=_span(meta))

    def var_decl(self, meta: Meta, children: list[Any]) -> nodes.VarDecl:
        name = str(_tokens(children, "VAR")[0])[1:]
        items = _nodes(children)
        type_name = next((c for c in items if isinstance(c, nodes.TypeName)), None)
        value = next((c for c in items if isinstance(c, nodes.Expr)), None)
        return nodes.VarDecl(name, type_name, value, span=_span(meta))

    def break_stmt(self, meta: Meta, children: list[Any]) -> nodes.Break:
        return nodes.Break(span=_span(meta))

    def continue_stmt(self, meta: Meta, children: list[Any]) -> nodes.Continue:
        return nodes.Continue(span=_span(meta))

    def return_stmt(self, meta: Meta, children: list[Any]) -> nodes.Return:
        items = _nodes(children)
        return nodes.Return(items[0] if items else None, span=_span(meta))

    def if_stmt(self, meta: Meta, children: list[Any]) -> nodes.If:
        items = _nodes(children)
        otherwise = items[2] if len(items) > 2 else None
        if isinstance(otherwise, nodes.If):
            otherwise = nodes.Block([otherwise], span=otherwise.span)
        return nodes.If(items[0], items[1], otherwise, span=_span(meta))

    def unroll_stmt(self, meta: Meta, children: list[Any]) -> nodes.Unroll:
        count, body = _nodes(children)
        return nodes.Unroll(count, body, span=_span(meta))

    def while_stmt(self, meta: Meta, children: list[Any]) -> nodes.While:
        cond, body = _nodes(children)
        return nodes.While(cond, body, span=_span(meta))

    def for_stmt(self, meta: Meta, children: list[Any]) -> nodes.For:
        var = str(_tokens(children, "VAR")[0])[1:]
        iterable, body = _nodes(children)
        return nodes.For(var, iterable, body, span=_span(meta))

    def for_iter(self, meta: Meta, children: list[Any]) -> nodes.MapRef:
        expr = children[0]
        if not isinstance(expr, nodes.MapRef) or expr.keys:
            raise TransformError(
                "syntax error, a for loop iterates over a @map or a range a..b", expr.span
            )
        return expr

    def for_range(self, meta: Meta, children: list[Any]) -> nodes.Range:
        start, end = _nodes(children)
        return nodes.Range(start, end, span=_span(meta))

    # ---------------------------------------------------------------- expressions

    def ternary(self, meta: Meta, children: list[Any]) -> nodes.Ternary:
        cond, then, otherwise = _nodes(children)
        return nodes.Ternary(cond, then, otherwise, span=_span(meta))

    def binary(self, meta: Meta, children: list[Any]) -> nodes.Binary:
        left, op, right = children
        return nodes.Binary(str(op), left, right, span=_span(meta))

    def unary(self, meta: Meta, children: list[Any]) -> nodes.Unary:
        op, operand = children
        return nodes.Unary(str(op), operand, span=_span(meta))

    def pre_incdec(self, meta: Meta, children: list[Any]) -> nodes.IncDec:
        op, target = children
        return self._incdec(str(op), True, target, meta)

    def post_incdec(self, meta: Meta, children: list[Any]) -> nodes.IncDec:
        target, op = children
        return self._incdec(str(op), False, target, meta)

    @staticmethod
    def _incdec(op: str, prefix: bool, target: nodes.Expr, meta: Meta) -> nodes.IncDec:
        if not isinstance(target, (nodes.Variable, nodes.MapRef)):
            raise TransformError(
                f"syntax error, {op} applies to a $variable or a @map", target.span
            )
        return nodes.IncDec(op, prefix, target, span=_span(meta))

    def cast(self, meta: Meta, children: list[Any]) -> nodes.Cast:
        type_name, expr = _nodes(children)
        return nodes.Cast(type_name, expr, span=_span(meta))

    def field(self, meta: Meta, children: list[Any]) -> nodes.FieldAccess:
        return nodes.FieldAccess(children[0], str(children[2]), False, span=_span(meta))

    def arrow_field(self, meta: Meta, children: list[Any]) -> nodes.FieldAccess:
        return nodes.FieldAccess(children[0], str(children[2]), True, span=_span(meta))

    def tuple_index(self, meta: Meta, children: list[Any]) -> nodes.TupleIndex:
        tok: Token = children[2]
        index = parse_int(str(tok), token_span(tok))
        return nodes.TupleIndex(children[0], index, span=_span(meta))

    def index(self, meta: Meta, children: list[Any]) -> nodes.Index:
        expr, index = _nodes(children)
        return nodes.Index(expr, index, span=_span(meta))

    def int_lit(self, meta: Meta, children: list[Any]) -> nodes.Int:
        return nodes.Int(parse_int(str(children[0]), _span(meta)), span=_span(meta))

    def true_lit(self, meta: Meta, children: list[Any]) -> nodes.Int:
        return nodes.Int(1, span=_span(meta))

    def false_lit(self, meta: Meta, children: list[Any]) -> nodes.Int:
        return nodes.Int(0, span=_span(meta))

    def str_lit(self, meta: Meta, children: list[Any]) -> nodes.Str:
        return nodes.Str(decode_string(str(children[0])), span=_span(meta))

    def variable(self, meta: Meta, children: list[Any]) -> nodes.Variable:
        return nodes.Variable(str(children[0])[1:], span=_span(meta))

    def pos_param(self, meta: Meta, children: list[Any]) -> nodes.Expr:
        index = int(str(children[0])[1:])
        if index == 0:
            raise TransformError("$0 is not a positional parameter (they start at $1)", _span(meta))
        return nodes.PositionalParam(index, span=_span(meta))

    def pos_count(self, meta: Meta, children: list[Any]) -> nodes.PositionalCount:
        return nodes.PositionalCount(span=_span(meta))

    def identifier(self, meta: Meta, children: list[Any]) -> nodes.Identifier:
        return nodes.Identifier(str(children[0]), span=_span(meta))

    def primary(self, meta: Meta, children: list[Any]) -> nodes.Expr:
        """`( expr )`: the inner expression (a 1-tuple is just parentheses)."""
        return _nodes(children)[0]  # type: ignore[no-any-return]

    def tuple(self, meta: Meta, children: list[Any]) -> nodes.TupleExpr:
        return nodes.TupleExpr(_nodes(children), span=_span(meta))

    def record(self, meta: Meta, children: list[Any]) -> nodes.RecordExpr:
        return nodes.RecordExpr(_nodes(children), span=_span(meta))

    def record_field(self, meta: Meta, children: list[Any]) -> builtins.tuple[str, nodes.Expr]:
        return (str(children[0]), children[2])

    def map_ref(self, meta: Meta, children: list[Any]) -> nodes.MapRef:
        return nodes.MapRef(str(children[0]), _nodes(children), span=_span(meta))

    def call(self, meta: Meta, children: list[Any]) -> nodes.Call:
        return nodes.Call(str(children[0]), _nodes(children), span=_span(meta))

    def sizeof(self, meta: Meta, children: list[Any]) -> nodes.Sizeof:
        return nodes.Sizeof(_nodes(children)[0], span=_span(meta))

    def offsetof(self, meta: Meta, children: list[Any]) -> nodes.Offsetof:
        target = _nodes(children)[0]
        fields = [str(t) for t in _tokens(children, "IDENT")]
        return nodes.Offsetof(target, fields, span=_span(meta))

    # ---------------------------------------------------------------- types

    def type(self, meta: Meta, children: list[Any]) -> nodes.TypeName:
        words = [str(t) for t in children if isinstance(t, Token) and t.type != "STAR"]
        name = " ".join(" ".join(w.split()) for w in words)
        stars = len(_tokens(children, "STAR"))
        sizes = _nodes(children)
        array_size = sizes[0] if sizes else None
        return nodes.TypeName(name, stars, array_size, span=_span(meta))

    def array_size(self, meta: Meta, children: list[Any]) -> int:
        tok: Token = children[1]
        return parse_int(str(tok), token_span(tok))
