"""Builtins that send a record to userspace through the ring buffer: printf, print,
exit, time (and the formatted-output functions cat, join, system). Type rules and
lowering; the record kinds are resources.EventKind."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytrace import nodes
from pytrace.builtins.base import Builtin, TypeContext, call_args, fixed, is_int, type_word
from pytrace.builtins.rules import MANY, VOID, checked
from pytrace.codegen.values import Val
from pytrace.resources import GLOBAL_EXITING, EventKind
from pytrace.types import IntT, Type, VoidT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

DEFAULT_TIME_FORMAT = "%H:%M:%S\n"


def _print_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    for i, arg in enumerate(call_args(node)[1:], start=1):
        if i < len(args) and not is_int(args[i]):
            ctx.diags.error(f"print() expects integer top and div arguments "
                            f"({type_word(args[i])} provided)", arg.span)
    return VOID


def _done(p: ProgEmitter) -> Val:
    return Val(VoidT(), p.c64(0))


def _printf(p: ProgEmitter, e: nodes.Call) -> Val:
    if p.target.kind == "iter":  # the kernel renders it into the iterator's output
        from pytrace.codegen.seqprintf import emit_seq_printf

        emit_seq_printf(p, e)
        return _done(p)
    p.event(EventKind.PRINTF, e.args[1:], p.format_of(e))
    return _done(p)


def _print(p: ProgEmitter, e: nodes.Call) -> Val:
    first = e.args[0]
    if isinstance(first, nodes.MapRef) and not first.keys:
        p.event(EventKind.PRINT_MAP, e.args[1:3], map_name=first.name)
    else:
        p.event(EventKind.PRINT_VALUE, [first])
    return _done(p)


def _exit(p: ProgEmitter, e: nodes.Call) -> Val:
    code = e.args[0] if e.args else Val(IntT(), p.c64(0))
    p.set_global(GLOBAL_EXITING, p.c64(1))
    p.event(EventKind.EXIT, [code])
    p.leave()  # like bpftrace, nothing after exit() runs
    return _done(p)


def _time(p: ProgEmitter, e: nodes.Call) -> Val:
    p.event(EventKind.TIME, [], p.format_of(e) if e.args else DEFAULT_TIME_FORMAT)
    return _done(p)


OUTPUT: tuple[Builtin, ...] = (
    Builtin("printf", fixed(VOID), min_args=1, max_args=MANY, emit=_printf),
    Builtin("print", _print_rule, min_args=1, max_args=3, map_arg=True, emit=_print),
    Builtin("exit", checked(VOID, ("int", "an integer exit code")), min_args=0, max_args=1,
            emit=_exit),
    Builtin("time", checked(VOID, ("str", "a string format")), min_args=0, max_args=1,
            emit=_time),
    Builtin("cat", fixed(VOID), min_args=1, max_args=MANY),
    Builtin("join", checked(VOID, ("int", "an integer pointer to an array of strings"),
                            ("str", "a string separator")), min_args=1, max_args=2),
    Builtin("system", fixed(VOID), min_args=1, max_args=MANY, unsafe=True),
)
