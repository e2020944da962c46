"""Builtins that act on the traced process or the kernel: signal, signal_thread,
override, write_user (all --unsafe), unwatch, and signal_name. Type rules and lowering."""

from __future__ import annotations

import signal as pysignal
from typing import TYPE_CHECKING

from pytrace import nodes
from pytrace.builtins.base import Builtin, TypeContext, call_args, is_int, is_str, type_word
from pytrace.builtins.rules import VOID
from pytrace.codegen.values import Val
from pytrace.resources import EventKind
from pytrace.types import BoolT, BufT, IntT, Type, UserFormatT, VoidT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

SEND_SIGNAL = 109
SEND_SIGNAL_THREAD = 117
OVERRIDE_RETURN = 58
PROBE_WRITE_USER = 36
# bpf_send_signal needs a task to signal: not BEGIN/END, which run in pytrace itself
SIGNAL_KINDS = frozenset({"kprobe", "kretprobe", "uprobe", "uretprobe", "usdt", "tracepoint",
                          "rawtracepoint", "profile", "interval", "software", "hardware",
                          "fentry", "fexit", "watchpoint"})
MAX_SIGNAL = 64


def signal_number(text: str) -> int | None:
    """'SIGKILL', 'KILL' or '9' -> 9; None for an unknown name."""
    name = text.upper()
    if name.isdigit():
        return int(name)
    if not name.startswith("SIG"):
        name = "SIG" + name
    sig = getattr(pysignal.Signals, name, None)
    return int(sig) if sig is not None else None


def _signal_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    name = getattr(node, "name", "signal")
    arg = call_args(node)[0] if call_args(node) else None
    t = args[0] if args else None
    if arg is None:
        return VOID
    text = ctx.const_str(arg)
    if text is not None:
        sig = signal_number(text)
        if sig is None:
            ctx.diags.error(f"Invalid string for signal: {text}", arg.span)
        elif not 1 <= sig <= MAX_SIGNAL:
            ctx.diags.error(f"Signal must be between 1 and {MAX_SIGNAL}", arg.span)
        return VOID
    if is_str(t) or not is_int(t):
        ctx.diags.error(f"{name}() expects a signal name literal or a signal number "
                        f"({type_word(t)} provided)", arg.span)
        return VOID
    value = ctx.const_int(arg)
    if value is not None and not 1 <= value <= MAX_SIGNAL:
        ctx.diags.error(f"Signal must be between 1 and {MAX_SIGNAL}", arg.span)
    return VOID


def _send(helper: int, helper_name: str):  # type: ignore[no-untyped-def]
    def emit(p: ProgEmitter, e: nodes.Call) -> Val:
        arg = e.args[0]
        text = p.checked.constants.get(arg) if not isinstance(arg, nodes.Str) else arg.value
        if isinstance(text, str):
            sig = p.c32(signal_number(text) or 0)
        else:
            sig = p.b.trunc(p.as_i64(p.expr(arg)), p.I32)
        ret = p.helper(helper, p.I64, [sig])
        p.check_helper(ret, helper_name, e)
        return Val(VoidT(), p.c64(0))

    return emit


def _override(p: ProgEmitter, e: nodes.Call) -> Val:
    rc = p.as_i64(p.expr(e.args[0]))
    p.helper(OVERRIDE_RETURN, p.I64, [p.ctx, rc])
    return Val(VoidT(), p.c64(0))


def _write_user_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if args and not is_int(args[0]):
        ctx.diags.error(f"write_user() expects a user pointer destination ({type_word(args[0])}"
                        " provided)", call_args(node)[0].span)
    if len(args) > 2 and not is_int(args[2]):
        ctx.diags.error(f"write_user() expects an integer length ({type_word(args[2])} "
                        "provided)", call_args(node)[2].span)
    length = ctx.const_int(call_args(node)[2]) if len(call_args(node)) > 2 else None
    if len(call_args(node)) > 2 and length is None:
        ctx.diags.error("write_user() expects an integer literal length",
                        call_args(node)[2].span)
    elif length is not None and length < 1:  # the helper's size must be a positive constant
        ctx.diags.error(f"write_user() length must be positive ({length} provided)",
                        call_args(node)[2].span)
    return BoolT()


def _write_user(p: ProgEmitter, e: nodes.Call) -> Val:
    """bpf_probe_write_user(dst, src, len); true when it wrote."""
    dst = p.b.inttoptr(p.as_i64(p.expr(e.args[0])), p.P8)
    src_t = p.type_of(e.args[1])
    val = p.expr(e.args[1])
    n = p.const_int(e.args[2])
    if val.scalar:
        src = p.materialize(val, IntT(64, False))
        size = 8
    else:
        src = p.at(val.v, 8) if isinstance(src_t, BufT) else val.v
        size = src_t.length if isinstance(src_t, BufT) else src_t.size
    if n > size:
        raise p.fail(f"write_user() length {n} is larger than the source ({size} bytes)", e)
    p.gen.require("probe_write_user")
    ret = p.helper(PROBE_WRITE_USER, p.I64, [dst, src, p.c32(n)])
    p.check_helper(ret, "probe_write_user", e)
    return Val(BoolT(), p.b.zext(p.b.icmp_signed("==", ret, p.c64(0)), p.I64))


def _unwatch(p: ProgEmitter, e: nodes.Call) -> Val:
    p.event(EventKind.UNWATCH, [e.args[0]])
    return Val(VoidT(), p.c64(0))


def _int_arg(name: str, result: Type):  # type: ignore[no-untyped-def]
    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        if args and not is_int(args[0]):
            ctx.diags.error(f"{name}() expects an integer argument ({type_word(args[0])} "
                            "provided)", call_args(node)[0].span)
        return result

    return rule


def _raw_value(kind: str):  # type: ignore[no-untyped-def]
    def emit(p: ProgEmitter, e: nodes.Call) -> Val:
        return Val(UserFormatT(kind), p.as_i64(p.expr(e.args[0])))

    return emit


SIGNALS: tuple[Builtin, ...] = (
    Builtin("signal", _signal_rule, min_args=1, max_args=1, unsafe=True, kinds=SIGNAL_KINDS,
            emit=_send(SEND_SIGNAL, "send_signal")),
    Builtin("signal_thread", _signal_rule, min_args=1, max_args=1, unsafe=True,
            kinds=SIGNAL_KINDS, emit=_send(SEND_SIGNAL_THREAD, "send_signal_thread")),
    Builtin("signal_name", _int_arg("signal_name", UserFormatT("signal_name")), min_args=1,
            max_args=1, emit=_raw_value("signal_name")),
    Builtin("override", _int_arg("override", VOID), min_args=1, max_args=1, unsafe=True,
            kinds=frozenset({"kprobe"}), emit=_override),
    Builtin("write_user", _write_user_rule, min_args=3, max_args=3, unsafe=True,
            emit=_write_user),
    Builtin("unwatch", _int_arg("unwatch", VOID), min_args=1, max_args=1, emit=_unwatch),
)
