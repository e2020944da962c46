"""Builtins that send a record to userspace through the ring buffer: printf, print,
exit, time, cat, join, system, errorf/warnf/debugf and assert. Type rules and
lowering; the record kinds are resources.EventKind (runtime/dispatch.py acts on them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytrace import nodes
from pytrace.builtins.base import Builtin, TypeContext, call_args, fixed, is_int, type_word
from pytrace.builtins.rules import MANY, VOID, checked
from pytrace.codegen.values import Val
from pytrace.resources import GLOBAL_EXITING, EventKind
from pytrace.types import AggT, IntT, StrT, Type, VoidT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

DEFAULT_TIME_FORMAT = "%H:%M:%S\n"
JOIN_MAX_ARGS = 16  # bpftrace's join_argnum


def _print_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    given = call_args(node)
    whole_map = isinstance(given[0], nodes.MapRef) and not given[0].keys if given else False
    if len(given) > 1 and not whole_map:
        ctx.diags.error(f"Non-map print() only takes 1 argument, {len(given)} found", node.span)
        return VOID
    for i, arg in enumerate(given[1:], start=1):
        if i < len(args) and not is_int(args[i]):
            ctx.diags.error(f"print() expects integer top and div arguments "
                            f"({type_word(args[i])} provided)", arg.span)
    if len(args) > 1 and isinstance(args[0], AggT) and args[0].kind == "stats":
        ctx.diags.warning("print()'s top and div arguments are ignored when used on "
                          "stats() maps.", node.span)
    return VOID


def _done(p: ProgEmitter) -> Val:
    return Val(VoidT(), p.c64(0))


def _formatted(kind: str, warning: bool = False):  # type: ignore[no-untyped-def]
    """printf-like: the format (resolved by the printf pass) and its arguments; an iter
    probe's printf is rendered by the kernel into the iterator's output."""
    located = kind in EventKind.LOCATED

    def emit(p: ProgEmitter, e: nodes.Call) -> Val:
        if warning and p.checked.options.warning_level == 0:
            return _done(p)  # --no-warnings: warnf() says nothing
        if kind == EventKind.PRINTF and p.target.kind == "iter":
            from pytrace.codegen.seqprintf import emit_seq_printf

            emit_seq_printf(p, e)
            return _done(p)
        p.event(kind, e.args[1:], p.format_of(e), node=e if located else None)
        return _done(p)

    return emit


def _print(p: ProgEmitter, e: nodes.Call) -> Val:
    first = e.args[0]
    if isinstance(first, nodes.MapRef) and not first.keys:
        p.event(EventKind.PRINT_MAP, e.args[1:3], map_name=first.name)
    else:
        p.event(EventKind.PRINT_VALUE, [first])
    return _done(p)


def exit_now(p: ProgEmitter, code: Any) -> None:
    """Raise the exiting flag, send the exit record and end the program."""
    p.set_global(GLOBAL_EXITING, p.c64(1))
    p.event(EventKind.EXIT, [code])
    p.leave()  # like bpftrace, nothing after exit() runs


def _exit(p: ProgEmitter, e: nodes.Call) -> Val:
    exit_now(p, e.args[0] if e.args else Val(IntT(), p.c64(0)))
    return _done(p)


def _time(p: ProgEmitter, e: nodes.Call) -> Val:
    p.event(EventKind.TIME, [], p.format_of(e) if e.args else DEFAULT_TIME_FORMAT)
    return _done(p)


# ------------------------------------------------------------------ join
def _join_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if args and not is_int(args[0]):
        ctx.diags.error("join() expects an integer pointer to an array of strings as first "
                        f"argument ({type_word(args[0])} provided)", call_args(node)[0].span)
    if len(call_args(node)) > 1 and ctx.const_str(call_args(node)[1]) is None:
        ctx.diags.error("join() expects a string literal separator", call_args(node)[1].span)
    return VOID


def _join(p: ProgEmitter, e: nodes.Call) -> Val:
    """The strings of a NULL-terminated `char *[]` (at most 16), read in BPF; userspace
    joins them with the separator."""
    sep = p.const_string(e.args[1]) if len(e.args) > 1 else " "
    slot = p.checked.options.max_strlen
    arr_t = p.type_of(e.args[0])
    user = p.user_pointer(arr_t)
    arr = p.as_i64(p.expr(e.args[0]))
    types = [IntT(64, False)] + [StrT(slot)] * JOIN_MAX_ARGS

    def fill(rec: Any) -> None:
        b = p.b
        ptr = p.alloca_buf(8)
        done = p.fn.append_basic_block("join.done")
        for i in range(JOIN_MAX_ARGS):
            p.store64(p.c64(0), ptr)
            p.probe_read(ptr, 8, b.inttoptr(b.add(arr, p.c64(8 * i)), p.P8), False, user, e)
            s = p.load64(ptr)
            more = p.fn.append_basic_block(f"join.{i}")
            b.cbranch(b.icmp_unsigned("==", s, p.c64(0)), done, more)
            b.position_at_end(more)
            dest = p.at(rec, 16 + i * StrT(slot).size)
            p.store64(p.c64(0), dest)
            p.probe_read(dest, slot, b.inttoptr(s, p.P8), True, user, e)
            p.store64(p.c64(i + 1), rec, 8)
        b.branch(done)
        b.position_at_end(done)

    count = Val(IntT(64, False), p.c64(0))
    p.event(EventKind.JOIN, [count], sep, fill=fill, types=types)
    return _done(p)


# ------------------------------------------------------------------ assert
def _assert_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if args and not is_int(args[0]):
        ctx.diags.error(f"assert() expects a boolean condition ({type_word(args[0])} "
                        "provided)", call_args(node)[0].span)
    if len(call_args(node)) > 1 and ctx.const_str(call_args(node)[1]) is None:
        ctx.diags.error("assert() expects a string literal message", call_args(node)[1].span)
    return VOID


def _assert(p: ProgEmitter, e: nodes.Call) -> Val:
    """assert(cond, msg): when cond is false, an error at the call and exit(1)."""
    cond = p.to_bool(p.as_i64(p.expr(e.args[0])))
    message = p.const_string(e.args[1]).replace("%", "%%")
    with p.b.if_then(p.b.not_(cond)):
        p.event(EventKind.ERRORF, [], message, node=e)
        exit_now(p, Val(IntT(), p.c64(1)))
    return _done(p)


OUTPUT: tuple[Builtin, ...] = (
    Builtin("printf", fixed(VOID), min_args=1, max_args=MANY, emit=_formatted(EventKind.PRINTF)),
    Builtin("print", _print_rule, min_args=1, max_args=3, map_arg=True, emit=_print),
    Builtin("exit", checked(VOID, ("int", "an integer exit code")), min_args=0, max_args=1,
            emit=_exit),
    Builtin("time", checked(VOID, ("str", "a string format")), min_args=0, max_args=1,
            emit=_time),
    Builtin("cat", fixed(VOID), min_args=1, max_args=MANY, emit=_formatted(EventKind.CAT)),
    Builtin("system", fixed(VOID), min_args=1, max_args=MANY, unsafe=True,
            emit=_formatted(EventKind.SYSTEM)),
    Builtin("join", _join_rule, min_args=1, max_args=2, emit=_join),
    Builtin("errorf", fixed(VOID), min_args=1, max_args=MANY, emit=_formatted(EventKind.ERRORF)),
    Builtin("warnf", fixed(VOID), min_args=1, max_args=MANY,
            emit=_formatted(EventKind.WARNF, warning=True)),
    Builtin("debugf", fixed(VOID), min_args=1, max_args=MANY,
            emit=_formatted(EventKind.DEBUGF, warning=True)),
    Builtin("assert", _assert_rule, min_args=2, max_args=2, emit=_assert),
)
