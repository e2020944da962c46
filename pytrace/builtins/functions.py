"""Other builtin functions: addresses and symbols (kaddr, uaddr, reg), network and
time formatting (ntop, pton, macaddr, strftime, strerror), cgroups, bswap, path and the
unsafe signal/override. Type rules and lowering."""

from __future__ import annotations

from pytrace import nodes
from pytrace.builtins.base import (
    U64,
    Builtin,
    TypeContext,
    UserFormatT,
    call_args,
    is_int,
    type_word,
)
from pytrace.builtins.rules import VOID, checked, expect, literal_str_arg
from pytrace.types import ArrayT, IntT, PtrT, StrT, Type


def _ntop(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if len(args) == 2 and not is_int(args[0]):
        expect(ctx, node, 0, args, "int", "an integer address family")
    addr = args[-1] if args else None
    if not (is_int(addr) or isinstance(addr, ArrayT)):
        ctx.diags.error(f"ntop() expects an integer or array address ({type_word(addr)} "
                        "provided)", node.span)
    return UserFormatT("inet", 24)


def _pton(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    text = ctx.const_str(call_args(node)[0]) if call_args(node) else None
    if text is None:
        ctx.diags.error("pton() expects a string literal", node.span)
        return ArrayT(IntT(8, False), 4)
    return ArrayT(IntT(8, False), 16 if ":" in text else 4)


def _strftime(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    fmt = ctx.const_str(call_args(node)[0]) if call_args(node) else None
    if fmt is None:
        ctx.diags.error("strftime() expects a string literal as first argument", node.span)
    if len(args) > 1 and not is_int(args[1]):
        expect(ctx, node, 1, args, "int", "an integer timestamp")
    return UserFormatT("strftime", 8, fmt or "")


def _bswap(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    t = args[0] if args else None
    if not isinstance(t, IntT):
        ctx.diags.error(f"bswap() expects an integer argument ({type_word(t)} provided)",
                        node.span)
        return U64
    return IntT(t.bits, False)


SIGNAL_KINDS = frozenset({"kprobe", "kretprobe", "uprobe", "uretprobe", "usdt", "tracepoint",
                          "rawtracepoint", "profile", "interval", "software", "hardware",
                          "fentry", "fexit"})

FUNCTIONS: tuple[Builtin, ...] = (
    Builtin("strftime", _strftime, min_args=2, max_args=2),
    Builtin("kaddr", literal_str_arg(U64), min_args=1, max_args=1, raw_args=True),
    Builtin("uaddr", literal_str_arg(PtrT(None, user=True)), min_args=1, max_args=1,
            raw_args=True),
    Builtin("reg", literal_str_arg(U64), min_args=1, max_args=1, raw_args=True),
    Builtin("ntop", _ntop, min_args=1, max_args=2),
    Builtin("pton", _pton, min_args=1, max_args=1, raw_args=True),
    Builtin("macaddr", checked(UserFormatT("macaddr", 8), ("any", "")), min_args=1,
            max_args=1),
    Builtin("strerror", checked(UserFormatT("strerror", 8), ("int", "an integer errno")),
            min_args=1, max_args=1),
    Builtin("signal", checked(VOID), min_args=1, max_args=1, unsafe=True, kinds=SIGNAL_KINDS),
    Builtin("override", checked(VOID, ("int", "an integer return code")), min_args=1,
            max_args=1, unsafe=True, kinds=frozenset({"kprobe"})),
    Builtin("cgroupid", literal_str_arg(U64), min_args=1, max_args=1, raw_args=True),
    Builtin("cgroup_path", checked(UserFormatT("cgroup_path", 8), ("int", "an integer id")),
            min_args=1, max_args=2),
    Builtin("bswap", _bswap, min_args=1, max_args=1),
    Builtin("path", checked(StrT(64), ("int", "a pointer")), min_args=1, max_args=1,
            kinds=frozenset({"fentry", "fexit", "iter"})),
)
