"""Builtin identifiers (`pid`, `comm`, `args`, `kstack` …), also callable as `pid()`."""

from __future__ import annotations

from pytrace import nodes
from pytrace.builtins.base import I64, U64, Builtin, TypeContext, call_args, fixed
from pytrace.types import ProbeNameT, PtrT, StackT, StrT, StructT, Type

ARGS_TYPE = StructT("args")  # the `args` builtin; fields come from the probe targets
RETVAL_KINDS = frozenset({"kretprobe", "uretprobe", "fexit"})
ARGS_KINDS = frozenset({"tracepoint", "fentry", "fexit"})
ARGN_KINDS = frozenset({"kprobe", "uprobe", "usdt", "rawtracepoint"})
FUNC_KINDS = frozenset({"kprobe", "kretprobe", "uprobe", "uretprobe", "usdt",
                        "fentry", "fexit"})
STACK_MODES = ("bpftrace", "perf", "raw")
MAX_STACK = 1024


def _stack(kernel: bool):  # type: ignore[no-untyped-def]
    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        mode, limit = "bpftrace", 127
        for arg in call_args(node):
            if isinstance(arg, nodes.Identifier) and arg.name in STACK_MODES:
                mode = arg.name
                continue
            value = ctx.const_int(arg)
            if value is None:
                name = "kstack" if kernel else "ustack"
                ctx.diags.error(f"{name}: expected a stack mode ({', '.join(STACK_MODES)}) "
                                "or an integer literal limit", arg.span)
            elif not 0 < value <= MAX_STACK:
                ctx.diags.error(f"stack limit must be between 1 and {MAX_STACK} "
                                f"({value} provided)", arg.span)
            else:
                limit = value
        return StackT(kernel, limit, mode)

    return rule


def _cpid(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if not ctx.options.has_child:
        ctx.diags.error("cpid cannot be used without child command", node.span,
                        "start one with -c CMD")
    return U64


def _ident(name: str, t: Type, kinds: frozenset[str] | None = None) -> Builtin:
    return Builtin(name, fixed(t), identifier=True, call=True, kinds=kinds)


_U64_NAMES = ("pid", "tid", "uid", "gid", "cpu", "nsecs", "elapsed", "ncpus", "numaid",
              "jiffies", "rand", "cgroup")

IDENTIFIERS: tuple[Builtin, ...] = (
    *(_ident(n, U64) for n in _U64_NAMES),
    Builtin("cpid", _cpid, identifier=True),
    *(_ident(f"arg{i}", U64, ARGN_KINDS) for i in range(10)),
    _ident("retval", U64, RETVAL_KINDS),
    _ident("comm", StrT(16)),
    _ident("probe", ProbeNameT()),
    _ident("func", StrT(64), FUNC_KINDS),
    _ident("username", StrT(64)),
    _ident("curtask", PtrT(StructT("struct task_struct"), user=False,
                           ctype="struct task_struct *")),
    Builtin("args", fixed(ARGS_TYPE), identifier=True, call=False, kinds=ARGS_KINDS),
    Builtin("kstack", _stack(True), identifier=True, min_args=0, max_args=2, raw_args=True),
    Builtin("ustack", _stack(False), identifier=True, min_args=0, max_args=2, raw_args=True),
)

__all__ = ["ARGS_TYPE", "IDENTIFIERS", "I64"]
