"""Builtin identifiers (`pid`, `comm`, `args`, `curtask` …), also callable as `pid()`:
type rules and lowering. Task relatives (ppid, pcomm, leader_tid, leader_comm) read
task_struct members at offsets from kernel BTF (pytrace/kernelinfo.py)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pytrace import nodes
from pytrace.builtins.base import I64, U64, Builtin, Emit, TypeContext, call_args, fixed
from pytrace.codegen import helpers as h
from pytrace.codegen.values import Val
from pytrace.resources import GLOBAL_CPID, GLOBAL_START_NS, GLOBAL_TAI_OFFSET
from pytrace.types import (
    BoolT,
    IntT,
    ProbeNameT,
    PtrT,
    StrT,
    StructT,
    Type,
    UserFormatT,
)

if TYPE_CHECKING:
    from llvmlite import ir

    from pytrace.codegen.emitter import ProgEmitter

ARGS_TYPE = StructT("args")  # the `args` builtin; fields come from the probe targets
RETVAL_KINDS = frozenset({"kretprobe", "uretprobe", "fexit"})
ARGS_KINDS = frozenset({"tracepoint", "rawtracepoint", "fentry", "fexit", "uprobe"})
ARGN_KINDS = frozenset({"kprobe", "uprobe", "usdt", "rawtracepoint"})
FUNC_KINDS = frozenset({"kprobe", "kretprobe", "uprobe", "uretprobe", "usdt",
                        "fentry", "fexit"})
PT_REGS_ARGS = (112, 104, 96, 88, 72, 64)  # x86_64 pt_regs: di si dx cx r8 r9
PT_REGS_AX = 80
PT_REGS_CS = 136
PT_REGS_SP = 152
PT_REGS_KINDS = ("uprobe", "uretprobe", "kprobe", "kretprobe", "usdt")
# program contexts that start with a struct pt_regs (perf events: bpf_perf_event_data)
REGS_CONTEXT_KINDS = frozenset({*PT_REGS_KINDS, "profile", "software", "hardware",
                                "watchpoint"})
PROC_PID_INIT_INO = 0xEFFFFFFC  # the initial pid namespace's inode number
TIME_MODES = ("monotonic", "boot", "tai", "sw_tai")
NS_MODES = ("curr_ns", "init")
TASK = PtrT(StructT("struct task_struct"), ctype="struct task_struct *", kernel=True)
KTIME_GET_BOOT_NS = 125
KTIME_GET_TAI_NS = 208
GET_NS_CURRENT_PID_TGID = 120


def _cpid(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    return U64


def _mode_rule(name: str, modes: tuple[str, ...], result: Type):  # type: ignore[no-untyped-def]
    """pid(init), nsecs(boot): an optional keyword argument."""

    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        for arg in call_args(node):
            if not (isinstance(arg, nodes.Identifier) and arg.name in modes):
                ctx.diags.error(f"{name}() expects one of {', '.join(modes)} as argument",
                                arg.span)
        return result

    return rule


def _mode(node: nodes.Expr, default: str) -> str:
    args = call_args(node)
    return args[0].name if args and isinstance(args[0], nodes.Identifier) else default


def _task_rule(result: Type):  # type: ignore[no-untyped-def]
    """ppid / pcomm / leader_*: of the current task, or of a `struct task_struct *`."""

    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        if args and not isinstance(args[0], PtrT | IntT):
            ctx.diags.error(f"{getattr(node, 'name', '')}() expects a struct task_struct * "
                            "argument", call_args(node)[0].span)
        return result

    return rule


def _comm_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if args:
        ctx.diags.error("comm(pid) is not supported by pytrace: it needs the "
                        "bpf_task_from_pid kfunc, which only fentry/fexit programs may call",
                        node.span)
    return StrT(16)


# ------------------------------------------------------------------ lowering
def pid_tgid(p: ProgEmitter) -> Any:
    return p.helper(h.GET_CURRENT_PID_TGID, p.I64, [])


def current_pid(p: ProgEmitter) -> Any:
    """The i64 process id (tgid) of the current task."""
    return p.b.lshr(pid_tgid(p), p.c64(32))


def _own_pid_namespace() -> tuple[int, int] | None:
    """(dev, inode) of pytrace's pid namespace, or None for the initial one."""
    try:
        st = os.stat("/proc/self/ns/pid")
    except OSError:
        return None
    return None if st.st_ino == PROC_PID_INIT_INO else (st.st_dev, st.st_ino)


def _pid_or_tid(tid: bool) -> Emit:
    """pid/tid as seen from pytrace's own pid namespace (curr_ns) or the initial one."""

    def emit(p: ProgEmitter, node: nodes.Expr) -> Val:
        ns = _own_pid_namespace() if _mode(node, "curr_ns") == "curr_ns" else None
        if ns is None:
            v = pid_tgid(p)
            return Val(U64, p.b.and_(v, p.c64(0xFFFFFFFF)) if tid else p.b.lshr(v, p.c64(32)))
        info = p.alloca_buf(8)
        p.store64(p.c64(0), info)
        p.helper(GET_NS_CURRENT_PID_TGID, p.I64, [p.c64(ns[0]), p.c64(ns[1]), info,
                                                  p.c32(8)])
        return Val(U64, p.load_sized(info, 0 if tid else 4, 4, False))

    return emit


def _uid_gid(p: ProgEmitter) -> Any:
    return p.helper(h.GET_CURRENT_UID_GID, p.I64, [])


def _u64(fn: Any) -> Emit:
    """A lowering whose i64 result is a u64 value."""

    def emit(p: ProgEmitter, node: nodes.Expr) -> Val:
        return Val(U64, fn(p))

    return emit


def _helper32(helper_id: int) -> Emit:
    return _u64(lambda p: p.b.zext(p.helper(helper_id, p.I32, []), p.I64))


def _nsecs(p: ProgEmitter, node: nodes.Expr) -> Val:
    mode = _mode(node, "boot")
    if mode == "monotonic":
        return Val(U64, p.helper(h.KTIME_GET_NS, p.I64, []))
    if mode == "tai":
        return Val(U64, p.helper(KTIME_GET_TAI_NS, p.I64, []))
    boot = p.helper(KTIME_GET_BOOT_NS, p.I64, [])
    if mode == "sw_tai":  # the boot clock plus the TAI offset userspace measured at start
        return Val(U64, p.b.add(boot, p.global_slot(GLOBAL_TAI_OFFSET)))
    return Val(U64, boot)


def _cpid_emit(p: ProgEmitter, node: nodes.Expr) -> Val:
    if not p.checked.options.has_child:
        p.runtime_error("cpid has no value: no child process was started with -c", node)
        return Val(U64, p.c64(0))
    return Val(U64, p.global_slot(GLOBAL_CPID))


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


def _task(p: ProgEmitter, node: nodes.Expr) -> Any:
    args = call_args(node)
    if args:
        return p.as_i64(p.expr(args[0]))
    return p.helper(h.GET_CURRENT_TASK, p.I64, [])


def _member(p: ProgEmitter, node: nodes.Expr, struct: str, member: str) -> int:
    from pytrace.kernelinfo import KernelInfoError, struct_offset

    try:
        return struct_offset(struct, member)
    except KernelInfoError as exc:
        raise p.fail(f"{getattr(node, 'name', '')}: {exc}", node) from None


def _relative(link: str, field: str, size: int) -> Emit:
    """task->link->field: the parent (real_parent) or the thread group leader."""

    def emit(p: ProgEmitter, node: nodes.Expr) -> Val:
        link_off = _member(p, node, "task_struct", link)
        field_off = _member(p, node, "task_struct", field)
        ptr = p.alloca_buf(8)
        p.store64(p.c64(0), ptr)
        task = _task(p, node)
        p.probe_read(ptr, 8, p.b.inttoptr(p.b.add(task, p.c64(link_off)), p.P8), False, False)
        rel = p.b.add(p.load64(ptr), p.c64(field_off))
        out = p.alloca_buf(max(8, size))
        p.zero(out, max(8, size))
        p.probe_read(out, size, p.b.inttoptr(rel, p.P8), False, False, node)
        if field == "comm":
            return Val(StrT(16), out)
        return Val(U64, p.load_sized(out, 0, 4, False))

    return emit


def arg_value(p: ProgEmitter, n: int, node: nodes.Expr) -> ir.Value:
    """The raw u64 of argument n (argN) in the current probe."""
    return _arg(n)(p, node).v


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
    if p.target.kind == "fexit":
        from pytrace.codegen.fields import function_arg

        return function_arg(p, "retval", p.type_of(node), node)
    if p.target.kind in PT_REGS_KINDS:
        return Val(U64, p.load64(p.ctx, PT_REGS_AX))
    raise p.fail(f"retval is not available in {p.target.kind} probes", node)


def _probe(p: ProgEmitter, node: nodes.Expr) -> Val:
    return Val(ProbeNameT(), p.probe_id())


def probe_type(kind: str) -> str:
    """The `probetype` of a probe kind: BEGIN and END are 'special'."""
    return "special" if kind in ("BEGIN", "END") else kind


def _probetype(p: ProgEmitter, node: nodes.Expr) -> Val:
    return p.const_str(probe_type(p.target.kind), 16)


def _usermode(p: ProgEmitter, node: nodes.Expr) -> Val:
    """1 when the probed task was running user code: the saved CS selector's RPL is 3."""
    if p.target.kind not in REGS_CONTEXT_KINDS:
        return Val(IntT(8, False), p.c64(0))  # tracepoints and BEGIN/END run in the kernel
    cs = p.load64(p.ctx, PT_REGS_CS)
    user = p.b.icmp_unsigned("==", p.b.and_(cs, p.c64(3)), p.c64(3))
    return Val(IntT(8, False), p.b.zext(user, p.I64))


def _func(p: ProgEmitter, node: nodes.Expr) -> Val:
    if p.kfunc_entry is not None:  # one kprobe_multi program: the name is in its entry
        buf = p.alloca_buf(64)
        p.copy(buf, p.kfunc_entry, 64, src_off=8)
        return Val(StrT(64), buf)
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
    if p.target.kind in ("fentry", "fexit"):  # the context's words are the struct's image
        t = p.type_of(node)
        buf = p.alloca_buf(t.size)
        for off in range(0, t.size, 8):
            p.store64(p.load64(p.ctx, off), p.at(buf, off))
        return Val(t, buf)
    if p.target.kind == "tracepoint" and isinstance(p.type_of(node), StructT):
        return _tracepoint_args(p, node)
    raise p.fail("args can only be read through one of its fields (args.NAME)", node)


def _tracepoint_args(p: ProgEmitter, node: nodes.Expr) -> Val:
    """A tracepoint's fields copied one by one into args' struct (strings and data_loc
    fields as args.NAME reads them)."""
    from llvmlite import ir

    from pytrace.codegen.fields import field_into, field_scalar
    from pytrace.codegen.values import is_scalar

    t = p.type_of(node)
    assert isinstance(t, StructT)
    buf = p.alloca_buf(t.size)
    p.zero(buf, t.size)
    for name, ft, off in t.fields:
        f = p.target.field_named(name)
        if f is None:
            raise p.fail(f"{p.target.name} has no field {name}", node)
        if is_scalar(ft):
            width = ft.csize  # field_type gives the field its own width
            v = field_scalar(p, f)
            if width < 8:
                v = p.b.trunc(v, ir.IntType(8 * width))
            p.b.store(v, p.b.bitcast(p.at(buf, off), ir.PointerType(ir.IntType(8 * width))),
                      align=width)
        else:
            field_into(p, f, buf, ft, off, zero=False)
    return Val(t, buf)


def _username(p: ProgEmitter, node: nodes.Expr) -> Val:
    return Val(UserFormatT("username"), p.b.and_(_uid_gid(p), p.c64(0xFFFFFFFF)))


def _has_cpid(p: ProgEmitter, node: nodes.Expr) -> Val:
    return Val(BoolT(), p.c64(int(p.checked.options.has_child)))


def _ident(name: str, t: Type, emit: Emit | None, kinds: frozenset[str] | None = None,
           **kw: Any) -> Builtin:
    return Builtin(name, fixed(t), identifier=True, call=True, kinds=kinds, emit=emit, **kw)


def _task_builtin(name: str, t: Type, link: str, field: str, size: int) -> Builtin:
    return Builtin(name, _task_rule(t), identifier=True, max_args=1,
                   emit=_relative(link, field, size))


IDENTIFIERS: tuple[Builtin, ...] = (
    Builtin("pid", _mode_rule("pid", NS_MODES, U64), identifier=True, max_args=1,
            raw_args=True, emit=_pid_or_tid(False)),
    Builtin("tid", _mode_rule("tid", NS_MODES, U64), identifier=True, max_args=1,
            raw_args=True, emit=_pid_or_tid(True)),
    _ident("uid", U64, _u64(lambda p: p.b.and_(_uid_gid(p), p.c64(0xFFFFFFFF)))),
    _ident("gid", U64, _u64(lambda p: p.b.lshr(_uid_gid(p), p.c64(32)))),
    _ident("cpu", U64, _helper32(h.GET_SMP_PROCESSOR_ID)),
    Builtin("nsecs", _mode_rule("nsecs", TIME_MODES, U64), identifier=True, max_args=1,
            raw_args=True, emit=_nsecs),
    _ident("elapsed", U64, _u64(lambda p: p.b.sub(p.helper(h.KTIME_GET_NS, p.I64, []),
                                                   p.global_slot(GLOBAL_START_NS)))),
    _ident("ncpus", U64, _u64(lambda p: p.c64(p.gen.ncpus))),
    _ident("numaid", U64, _helper32(h.GET_NUMA_NODE_ID)),
    _ident("jiffies", U64, _u64(lambda p: p.helper(h.GET_JIFFIES64, p.I64, []))),
    _ident("rand", U64, _helper32(h.GET_PRANDOM_U32)),
    _ident("cgroup", U64, _u64(lambda p: p.helper(h.GET_CURRENT_CGROUP_ID, p.I64, []))),
    Builtin("cpid", _cpid, identifier=True, emit=_cpid_emit),
    _ident("has_cpid", BoolT(), _has_cpid),
    *(_ident(f"arg{i}", U64, _arg(i), ARGN_KINDS) for i in range(10)),
    _ident("retval", U64, _retval, RETVAL_KINDS),
    Builtin("comm", _comm_rule, identifier=True, max_args=1, emit=_comm, emit_into=_comm_into),
    _ident("probe", ProbeNameT(), _probe),
    _ident("probetype", StrT(16), _probetype),
    _ident("func", StrT(64), _func, FUNC_KINDS),
    _ident("username", UserFormatT("username"), _username),
    _ident("usermode", IntT(8, False), _usermode),
    _ident("curtask", TASK, _curtask),
    Builtin("ctx", _ctx_rule, identifier=True, call=False, emit=_ctx),
    _task_builtin("ppid", U64, "real_parent", "tgid", 4),
    _task_builtin("pcomm", StrT(16), "real_parent", "comm", 16),
    _task_builtin("leader_tid", U64, "group_leader", "pid", 4),
    _task_builtin("leader_comm", StrT(16), "group_leader", "comm", 16),
    # `args` is read through its fields (args.f), which codegen's field access lowers;
    # the typecheck pass refuses a bare `args`
    Builtin("args", fixed(ARGS_TYPE), identifier=True, call=False, kinds=ARGS_KINDS,
            emit=_args),
)

__all__ = ["ARGS_TYPE", "IDENTIFIERS", "I64", "current_pid", "probe_type"]
