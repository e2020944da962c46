"""Builtin identifiers (`pid`, `comm`, `args`, `curtask` …), also callable as `pid()`:
type rules and lowering."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytrace import nodes
from pytrace.builtins.base import I64, U64, Builtin, Emit, TypeContext, fixed
from pytrace.codegen import helpers as h
from pytrace.codegen.values import Val
from pytrace.resources import GLOBAL_CPID, GLOBAL_START_NS
from pytrace.types import ProbeNameT, PtrT, StrT, StructT, Type

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

ARGS_TYPE = StructT("args")  # the `args` builtin; fields come from the probe targets
RETVAL_KINDS = frozenset({"kretprobe", "uretprobe", "fexit"})
ARGS_KINDS = frozenset({"tracepoint", "rawtracepoint", "fentry", "fexit"})
ARGN_KINDS = frozenset({"kprobe", "uprobe", "usdt", "rawtracepoint"})
FUNC_KINDS = frozenset({"kprobe", "kretprobe", "uprobe", "uretprobe", "usdt",
                        "fentry", "fexit"})
PT_REGS_ARGS = (112, 104, 96, 88, 72, 64)  # x86_64 pt_regs: di si dx cx r8 r9
PT_REGS_AX = 80
PT_REGS_SP = 152
PT_REGS_KINDS = ("uprobe", "uretprobe", "kprobe", "kretprobe", "usdt")


def _cpid(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if not ctx.options.has_child:
        ctx.diags.error("cpid cannot be used without child command", node.span,
                        "start one with -c CMD")
    return U64


# ------------------------------------------------------------------ lowering
def pid_tgid(p: ProgEmitter) -> Any:
    return p.helper(h.GET_CURRENT_PID_TGID, p.I64, [])


def current_pid(p: ProgEmitter) -> Any:
    """The i64 process id (tgid) of the current task."""
    return p.b.lshr(pid_tgid(p), p.c64(32))


def _uid_gid(p: ProgEmitter) -> Any:
    return p.helper(h.GET_CURRENT_UID_GID, p.I64, [])


def _u64(fn: Any) -> Emit:
    """A lowering whose i64 result is a u64 value."""

    def emit(p: ProgEmitter, node: nodes.Expr) -> Val:
        return Val(U64, fn(p))

    return emit


def _helper32(helper_id: int) -> Emit:
    return _u64(lambda p: p.b.zext(p.helper(helper_id, p.I32, []), p.I64))


def _comm(p: ProgEmitter, node: nodes.Expr) -> Val:
    buf = p.alloca_buf(16)
    p.helper(h.GET_CURRENT_COMM, p.I64, [buf, p.c64(16)])
    return Val(StrT(16), buf)


def _comm_into(p: ProgEmitter, node: nodes.Expr, dest: Any, t: Type, off: int,
               zero: bool) -> bool:
    if not (isinstance(t, StrT) and t.length >= 16):
        return False
    if zero and t.size > 16:
        p.zero(dest, t.size - 16, off + 16)
    p.helper(h.GET_CURRENT_COMM, p.I64, [p.at(dest, off), p.c64(16)])
    return True


def _arg(n: int) -> Emit:
    def emit(p: ProgEmitter, node: nodes.Expr) -> Val:
        kind = p.target.kind
        if kind == "usdt":
            return p.usdt_arg(n, node)
        if kind in PT_REGS_KINDS and n < len(PT_REGS_ARGS):
            return Val(U64, p.load64(p.ctx, PT_REGS_ARGS[n]))
        if kind in PT_REGS_KINDS:  # the 7th argument on: on the stack, above the return address
            slot = p.alloca_buf(8)
            p.store64(p.c64(0), slot)
            addr = p.b.add(p.load64(p.ctx, PT_REGS_SP), p.c64(8 * (n - len(PT_REGS_ARGS) + 1)))
            p.probe_read(slot, 8, p.b.inttoptr(addr, p.P8), False, kind.startswith("u"))
            return Val(U64, p.load64(slot))
        if kind == "rawtracepoint":
            return Val(U64, p.load64(p.ctx, 8 * n))
        raise p.fail(f"arg{n} is not available in {kind} probes", node)

    return emit


def _retval(p: ProgEmitter, node: nodes.Expr) -> Val:
    if p.target.kind in PT_REGS_KINDS:
        return Val(U64, p.load64(p.ctx, PT_REGS_AX))
    raise p.fail(f"retval is not available in {p.target.kind} probes", node)


def _probe(p: ProgEmitter, node: nodes.Expr) -> Val:
    return Val(ProbeNameT(), p.probe_id())


def _func(p: ProgEmitter, node: nodes.Expr) -> Val:
    return p.const_str(p.target.func or p.target.name, 64)


def _curtask(p: ProgEmitter, node: nodes.Expr) -> Val:
    return Val(p.type_of(node), p.helper(h.GET_CURRENT_TASK, p.I64, []))


def _ctx_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    """In iter probes a pointer to the iterator's context (`struct bpf_iter__task`:
    ctx.task, ctx.meta...); elsewhere the context pointer's value."""
    kinds = {t.kind for t in ctx.targets}
    if kinds == {"iter"}:
        name = f"struct bpf_iter__{ctx.targets[0].attach['iter']}"
        return PtrT(StructT(name), ctype=f"{name} *", kernel=True)
    return U64


def _ctx(p: ProgEmitter, node: nodes.Expr) -> Val:
    return Val(p.type_of(node), p.b.ptrtoint(p.ctx, p.I64))


def _args(p: ProgEmitter, node: nodes.Expr) -> Val:
    raise p.fail("args can only be read through one of its fields (args.NAME)", node)


def _ident(name: str, t: Type, emit: Emit | None, kinds: frozenset[str] | None = None,
           **kw: Any) -> Builtin:
    return Builtin(name, fixed(t), identifier=True, call=True, kinds=kinds, emit=emit, **kw)


IDENTIFIERS: tuple[Builtin, ...] = (
    _ident("pid", U64, _u64(current_pid)),
    _ident("tid", U64, _u64(lambda p: p.b.and_(pid_tgid(p), p.c64(0xFFFFFFFF)))),
    _ident("uid", U64, _u64(lambda p: p.b.and_(_uid_gid(p), p.c64(0xFFFFFFFF)))),
    _ident("gid", U64, _u64(lambda p: p.b.lshr(_uid_gid(p), p.c64(32)))),
    _ident("cpu", U64, _helper32(h.GET_SMP_PROCESSOR_ID)),
    _ident("nsecs", U64, _u64(lambda p: p.helper(h.KTIME_GET_NS, p.I64, []))),
    _ident("elapsed", U64, _u64(lambda p: p.b.sub(p.helper(h.KTIME_GET_NS, p.I64, []),
                                                   p.global_slot(GLOBAL_START_NS)))),
    _ident("ncpus", U64, _u64(lambda p: p.c64(p.gen.ncpus))),
    _ident("numaid", U64, _helper32(h.GET_NUMA_NODE_ID)),
    _ident("jiffies", U64, _u64(lambda p: p.helper(h.GET_JIFFIES64, p.I64, []))),
    _ident("rand", U64, _helper32(h.GET_PRANDOM_U32)),
    _ident("cgroup", U64, _u64(lambda p: p.helper(h.GET_CURRENT_CGROUP_ID, p.I64, []))),
    Builtin("cpid", _cpid, identifier=True,
            emit=_u64(lambda p: p.global_slot(GLOBAL_CPID))),
    *(_ident(f"arg{i}", U64, _arg(i), ARGN_KINDS) for i in range(10)),
    _ident("retval", U64, _retval, RETVAL_KINDS),
    _ident("comm", StrT(16), _comm, emit_into=_comm_into),
    _ident("probe", ProbeNameT(), _probe),
    _ident("func", StrT(64), _func, FUNC_KINDS),
    _ident("username", StrT(64), None),
    _ident("curtask", PtrT(StructT("struct task_struct"), ctype="struct task_struct *",
                           kernel=True), _curtask),
    Builtin("ctx", _ctx_rule, identifier=True, call=False, emit=_ctx),
    # `args` is read through its fields (args.f), which codegen's field access lowers;
    # the typecheck pass refuses a bare `args`
    Builtin("args", fixed(ARGS_TYPE), identifier=True, call=False, kinds=ARGS_KINDS,
            emit=_args),
)

__all__ = ["ARGS_TYPE", "IDENTIFIERS", "I64", "current_pid"]
