"""Type introspection functions: `is_array`, `is_integer`, `is_unsigned_integer`,
`is_ptr`, `is_str`, `is_literal` (decided at compile time: constants) and `is_err`
(an ERR_PTR test at run time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pytrace import nodes
from pytrace.builtins.base import Builtin, TypeContext, call_args, is_int, type_word
from pytrace.codegen.values import Val
from pytrace.types import ArrayT, BoolT, IntT, PtrT, StrT, Type

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

BOOL = BoolT()
MAX_ERRNO = 4095

Test = Callable[[nodes.Expr, Type], bool]
TESTS: dict[str, Test] = {
    "is_array": lambda e, t: isinstance(t, ArrayT),
    "is_integer": lambda e, t: isinstance(t, IntT),
    "is_unsigned_integer": lambda e, t: isinstance(t, IntT) and not t.signed,
    "is_ptr": lambda e, t: isinstance(t, PtrT),
    "is_str": lambda e, t: isinstance(t, StrT),
    "is_literal": lambda e, t: isinstance(e, nodes.Int | nodes.Str) or (
        isinstance(e, nodes.Unary) and e.op == "-" and isinstance(e.operand, nodes.Int)),
}


def _bool(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    return BOOL


def _test(name: str) -> Callable[[ProgEmitter, nodes.Call], Val]:
    def emit(p: ProgEmitter, node: nodes.Call) -> Val:
        arg = node.args[0]
        return Val(BOOL, p.c64(int(TESTS[name](arg, p.type_of(arg)))))

    return emit


def _is_err_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if args and not is_int(args[0]):
        ctx.diags.error(f"is_err() expects a pointer ({type_word(args[0])} provided)",
                        call_args(node)[0].span)
    return BOOL


def _is_err(p: ProgEmitter, node: nodes.Call) -> Val:
    v = p.as_i64(p.expr(node.args[0]))
    err = p.b.icmp_unsigned(">=", v, p.c64(-MAX_ERRNO))
    return Val(BOOL, p.b.zext(err, p.I64))


TYPEINFO: tuple[Builtin, ...] = (
    *(Builtin(name, _bool, min_args=1, max_args=1, emit=_test(name)) for name in TESTS),
    Builtin("is_err", _is_err_rule, min_args=1, max_args=1, emit=_is_err),
)
