"""IR for unary and binary operators with C semantics on 64-bit integers.

BPF cpu v3 has no signed division or modulo: they are built from unsigned ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace import nodes
from pytrace.codegen import composite, memory
from pytrace.codegen.base import I64, c64
from pytrace.codegen.errors import CodegenError
from pytrace.codegen.values import Val
from pytrace.source import Span
from pytrace.types import (
    ArrayT,
    IntT,
    PtrT,
    RecordT,
    StrT,
    TupleT,
    flexible_operands,
    signed_operation,
)

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

_CMP = {"==", "!=", "<", "<=", ">", ">="}
_SIMPLE = {"+": "add", "-": "sub", "*": "mul", "&": "and_", "|": "or_", "^": "xor"}  # IRBuilder methods


def _abs(p: ProgEmitter, v: ir.Value) -> ir.Value:
    neg = p.b.icmp_signed("<", v, c64(0))
    return p.b.select(neg, p.b.neg(v), v)


def signed_div(p: ProgEmitter, a: ir.Value, b_: ir.Value, rem: bool) -> ir.Value:
    b = p.b
    q = b.urem(_abs(p, a), _abs(p, b_)) if rem else b.udiv(_abs(p, a), _abs(p, b_))
    if rem:  # C: the remainder takes the sign of the dividend
        neg = b.icmp_signed("<", a, c64(0))
    else:
        neg = b.xor(b.icmp_signed("<", a, c64(0)), b.icmp_signed("<", b_, c64(0)))
    return b.select(neg, b.neg(q), q)


DIVIDE_BY_ZERO = ("Divide or modulo by 0 detected. This can lead to unexpected results. "
                  "1 is being used as the result.")


class _At:
    """A location for a runtime warning (the operator of a binary expression)."""

    __slots__ = ("span",)

    def __init__(self, span: Span) -> None:
        self.span = span


def operator_at(p: ProgEmitter, e: nodes.Node, op: str) -> nodes.Node:
    """The span of the operator itself in `a / b` (bpftrace underlines just it)."""
    left, right = getattr(e, "left", None), getattr(e, "right", None)
    if left is None or right is None or left.span.end_line != right.span.line:
        return e
    text = p.checked.source.line_text(right.span.line)
    col = text.find(op, left.span.end_col - 1, right.span.col - 1)
    if col < 0:
        return e
    line = right.span.line
    return _At(Span(line, col + 1, line, col + 1 + len(op)))  # type: ignore[return-value]


def arith(p: ProgEmitter, op: str, left: Val, right: Val, signed: bool,
          node: nodes.Node | None = None) -> ir.Value:
    b = p.b
    x, y = p.as_i64(left), p.as_i64(right)
    if op in _SIMPLE:
        return getattr(b, _SIMPLE[op])(x, y)
    if op in ("/", "%"):
        if isinstance(y, ir.Constant) and y.constant != 0:
            if signed:
                return signed_div(p, x, y, op == "%")
            return b.urem(x, y) if op == "%" else b.udiv(x, y)
        # a 0 divisor: bpftrace warns and uses 1 as the result
        zero = b.icmp_unsigned("==", y, c64(0))
        if node is not None and p.checked.options.warning_level > 0:
            with b.if_then(zero):
                p.runtime_error(DIVIDE_BY_ZERO, node)
        safe = b.select(zero, c64(1), y)
        if signed:
            r = signed_div(p, x, safe, op == "%")
        else:
            r = b.urem(x, safe) if op == "%" else b.udiv(x, safe)
        return b.select(zero, c64(1), r)
    if op == "<<":
        return b.shl(x, b.and_(y, c64(63)))
    if op == ">>":
        sh = b.and_(y, c64(63))
        return b.ashr(x, sh) if signed else b.lshr(x, sh)
    raise ValueError(op)


def _compare(p: ProgEmitter, op: str, x: ir.Value, y: ir.Value, signed: bool) -> ir.Value:
    cmp = p.b.icmp_signed(op, x, y) if signed else p.b.icmp_unsigned(op, x, y)
    return p.b.zext(cmp, I64)


def _logical(p: ProgEmitter, e: nodes.Binary) -> Val:
    b = p.b
    slot = p.alloca_i64()
    left = p.to_bool(p.as_i64(p.expr(e.left)))
    b.store(b.zext(left, I64), slot)
    cond = left if e.op == "||" else b.not_(left)
    with b.if_then(b.not_(cond)):
        right = p.to_bool(p.as_i64(p.expr(e.right)))
        b.store(b.zext(right, I64), slot)
    return Val(IntT(64, True), b.load(slot))


def binary(p: ProgEmitter, e: nodes.Binary) -> Val:
    if e.op in ("&&", "||"):
        return _logical(p, e)
    lt = p.type_of(e.left)
    rt = p.type_of(e.right)
    if e.op in ("==", "!=") and isinstance(lt, StrT) and isinstance(rt, StrT):
        eq = p.str_equal(e.left, e.right)
        res = eq if e.op == "==" else p.b.not_(eq)
        return Val(IntT(64, True), p.b.zext(res, I64))
    left = p.expr(e.left)
    right = p.expr(e.right)
    if isinstance(lt, ArrayT) and isinstance(rt, ArrayT):
        eq = memory.array_equal(p, left, right)
        return Val(IntT(64, True), p.b.zext(eq if e.op == "==" else p.b.not_(eq), I64))
    if isinstance(lt, TupleT | RecordT):
        eq = composite.equal(p, left, right)
        return Val(IntT(64, True), p.b.zext(eq if e.op == "==" else p.b.not_(eq), I64))
    constants = p.checked.constants
    signed = signed_operation(*flexible_operands(
        left.t, right.t, nodes.literal_value(e.left, constants),
        nodes.literal_value(e.right, constants)))
    if e.op in _CMP:
        return Val(IntT(64, True), _compare(p, e.op, p.as_i64(left), p.as_i64(right), signed))
    t = p.checked.types.get(e) or IntT(64, signed)
    if isinstance(t, PtrT):  # pointer +/- n: n elements of the pointee
        size = memory.elem_size(p, t.pointee)
        if isinstance(left.t, PtrT):
            right = Val(right.t, p.b.mul(p.as_i64(right), c64(size)))
        else:
            left = Val(left.t, p.b.mul(p.as_i64(left), c64(size)))
        return Val(t, arith(p, e.op, left, right, False, operator_at(p, e, e.op)))
    if isinstance(t, IntT):
        signed = t.signed or signed
    return Val(t, arith(p, e.op, left, right, signed, operator_at(p, e, e.op)))


def unary(p: ProgEmitter, e: nodes.Unary) -> Val:
    b = p.b
    if e.op == "&":
        return memory.address_of(p, e)
    if e.op == "*":
        return memory.deref(p, e)
    val = p.expr(e.operand)
    t = p.checked.types.get(e) or val.t
    if e.op == "-":
        return Val(t, b.neg(p.as_i64(val)))
    if e.op == "!":
        return Val(IntT(64, True), b.zext(b.icmp_unsigned("==", p.as_i64(val), c64(0)), I64))
    if e.op == "~":
        return Val(t, b.not_(p.as_i64(val)))
    # the grammar has no other unary operator (tests/codegen/test_lowering_coverage.py)
    raise CodegenError(f"internal: no lowering for unary {e.op}", e)
