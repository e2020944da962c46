"""Integer constant expressions in C declarations: array sizes, bitfield widths,
enumerator values (`1 << 4`, `FOO + 1`, `sizeof(struct x)`, casts, `?:`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pycparser import c_ast

from pytrace.types import Type

_BINARY: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: int(a / b), "%": lambda a, b: a - int(a / b) * b,
    "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b, "&": lambda a, b: a & b,
    "|": lambda a, b: a | b, "^": lambda a, b: a ^ b, "&&": lambda a, b: int(bool(a and b)),
    "||": lambda a, b: int(bool(a or b)), "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b), "<": lambda a, b: int(a < b),
    "<=": lambda a, b: int(a <= b), ">": lambda a, b: int(a > b),
    ">=": lambda a, b: int(a >= b),
}


def parse_int(text: str) -> int:
    """A C integer or character literal (suffixes u, l, ll in any case)."""
    t = text.rstrip("uUlL")
    if t.startswith("'"):
        body = t[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        return ord(body[0]) if body else 0
    if len(t) > 1 and t[0] == "0" and t[1] not in "xXbB":
        return int(t, 8)
    return int(t, 0)


def evaluate(node: c_ast.Node, enumerators: Mapping[str, tuple[Type, int]],
             sizeof: Callable[[c_ast.Node], int]) -> int:
    """The value of a constant expression; ValueError when it is not one."""

    def ev(n: c_ast.Node) -> int:
        if isinstance(n, c_ast.Constant):
            if n.type in ("float", "double", "string"):
                raise ValueError(f"expected an integer constant, found {n.value}")
            return parse_int(n.value)
        if isinstance(n, c_ast.ID):
            if n.name in enumerators:
                return enumerators[n.name][1]
            raise ValueError(f"use of undeclared identifier '{n.name}'")
        if isinstance(n, c_ast.UnaryOp):
            if n.op == "sizeof":
                return sizeof(n.expr)
            v = ev(n.expr)
            ops = {"-": -v, "+": v, "~": ~v, "!": int(not v)}
            if n.op in ops:
                return ops[n.op]
        if isinstance(n, c_ast.BinaryOp) and n.op in _BINARY:
            left, right = ev(n.left), ev(n.right)
            if n.op in ("/", "%") and right == 0:
                raise ValueError("division by zero in a constant expression")
            return _BINARY[n.op](left, right)
        if isinstance(n, c_ast.TernaryOp):
            return ev(n.iftrue) if ev(n.cond) else ev(n.iffalse)
        if isinstance(n, c_ast.Cast):
            return ev(n.expr)
        raise ValueError("expression is not an integer constant expression")

    return ev(node)
