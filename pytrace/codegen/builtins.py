"""IR for builtin identifiers (pid, comm, args…) and functions (printf, str, print…).

The passes' registry (pytrace/builtins) owns names, signatures and type rules; this
module owns only how each one becomes BPF instructions, keyed by the same names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace import nodes
from pytrace.codegen import helpers as h
from pytrace.codegen.base import I64, P8, c64
from pytrace.codegen.maps import GLOBAL_CPID, GLOBAL_START_NS
from pytrace.codegen.values import Val, is_scalar
from pytrace.types import IntT, ProbeNameT, PtrT, StrT, Type, VoidT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

PT_REGS_ARGS = (112, 104, 96, 88, 72, 64)  # x86_64 pt_regs: di si dx cx r8 r9
PT_REGS_AX = 80
PT_REGS_KINDS = ("uprobe", "uretprobe", "kprobe", "kretprobe", "usdt")
U64 = IntT(64, False)
VOID = Val(VoidT(), c64(0))


def _err(msg: str, node: nodes.Node) -> Exception:
    from pytrace.codegen.emitter import CodegenError

    return CodegenError(msg, node)


# ------------------------------------------------------------------ identifiers
def _pid_tgid(p: ProgEmitter) -> ir.Value:
    return p.helper(h.GET_CURRENT_PID_TGID, I64, [])


def _uid_gid(p: ProgEmitter) -> ir.Value:
    return p.helper(h.GET_CURRENT_UID_GID, I64, [])


def _global_slot(p: ProgEmitter, index: int) -> ir.Value:
    slot = p.maps.array_slot(p.gen.map_global("__globals"), index)
    out = p.alloca_i64()
    p.b.store(c64(0), out)
    with p.b.if_then(p.not_null(slot)):
        p.b.store(p.load64(slot), out)
    return p.b.load(out)


def _comm(p: ProgEmitter) -> Val:
    buf = p.alloca_buf(16)
    p.helper(h.GET_CURRENT_COMM, I64, [buf, c64(16)])
    return Val(StrT(16), buf)


def _arg(p: ProgEmitter, n: int, node: nodes.Node) -> Val:
    kind = p.target.kind
    if kind == "usdt":
        return _stacks.emit_usdt_arg(p, n, node)
    if kind in PT_REGS_KINDS and n < len(PT_REGS_ARGS):
        return Val(U64, p.load64(p.ctx, PT_REGS_ARGS[n]))
    if kind == "rawtracepoint":
        return Val(U64, p.load64(p.ctx, 8 * n))
    raise _err(f"arg{n} is not available in {kind} probes", node)


def _retval(p: ProgEmitter, node: nodes.Node) -> Val:
    if p.target.kind in PT_REGS_KINDS:
        return Val(U64, p.load64(p.ctx, PT_REGS_AX))
    raise _err(f"retval is not available in {p.target.kind} probes", node)


IDENTIFIERS: dict[str, Callable[[ProgEmitter], Val]] = {
    "pid": lambda p: Val(U64, p.b.lshr(_pid_tgid(p), c64(32))),
    "tid": lambda p: Val(U64, p.b.and_(_pid_tgid(p), c64(0xFFFFFFFF))),
    "uid": lambda p: Val(U64, p.b.and_(_uid_gid(p), c64(0xFFFFFFFF))),
    "gid": lambda p: Val(U64, p.b.lshr(_uid_gid(p), c64(32))),
    "nsecs": lambda p: Val(U64, p.helper(h.KTIME_GET_NS, I64, [])),
    "elapsed": lambda p: Val(U64, p.b.sub(p.helper(h.KTIME_GET_NS, I64, []), _global_slot(p, GLOBAL_START_NS))),
    "cpu": lambda p: Val(U64, p.b.zext(p.helper(h.GET_SMP_PROCESSOR_ID, ir.IntType(32), []), I64)),
    "comm": _comm,
    "probe": lambda p: Val(ProbeNameT(), c64(p.gen.probe_name_index(p.target.name))),
    "rand": lambda p: Val(U64, p.b.zext(p.helper(h.GET_PRANDOM_U32, ir.IntType(32), []), I64)),
    "cgroup": lambda p: Val(U64, p.helper(h.GET_CURRENT_CGROUP_ID, I64, [])),
    "jiffies": lambda p: Val(U64, p.helper(h.GET_JIFFIES64, I64, [])),
    "numaid": lambda p: Val(U64, p.b.zext(p.helper(h.GET_NUMA_NODE_ID, ir.IntType(32), []), I64)),
    "ncpus": lambda p: Val(U64, c64(p.gen.ncpus)),
    "cpid": lambda p: Val(U64, _global_slot(p, GLOBAL_CPID)),
    "curtask": lambda p: Val(PtrT(None), p.helper(h.GET_CURRENT_TASK, I64, [])),
    "func": lambda p: p.const_str(p.target.func or p.target.name, 64),
}


def emit_identifier(p: ProgEmitter, e: nodes.Identifier) -> Val:
    name = e.name  # #define'd names were resolved to constants by the passes
    if name in IDENTIFIERS:
        return IDENTIFIERS[name](p)
    if name.startswith("arg") and name[3:].isdigit():
        return _arg(p, int(name[3:]), e)
    if name == "retval":
        return _retval(p, e)
    raise _err(f"{name} is not supported yet", e)


# ------------------------------------------------------------------ tracepoint args
def _field_ptr_read(p: ProgEmitter, dest: ir.Value, size: int, src: ir.Value, string: bool, user: bool) -> None:
    if string:
        hid = h.PROBE_READ_USER_STR if user else h.PROBE_READ_KERNEL_STR
    else:
        hid = h.PROBE_READ_USER if user else h.PROBE_READ_KERNEL
    p.helper(hid, I64, [dest, ir.Constant(ir.IntType(32), size), src])


def emit_field(p: ProgEmitter, e: nodes.FieldAccess) -> Val:
    if not (isinstance(e.expr, nodes.Identifier) and e.expr.name == "args"):
        raise _err("field access is only supported on args yet", e)
    f = p.target.field_named(e.field_name)
    if f is None:
        raise _err(f"{p.target.name} has no field {e.field_name}", e)
    t = p.type_of(e)
    if is_scalar(t):
        return Val(t, p.load_sized(p.ctx, f.offset, f.size if f.size in (1, 2, 4, 8) else 8, f.signed))
    buf = p.alloca_buf(t.size)
    _field_into(p, f, buf, t, 0, zero=True)
    return Val(t, buf)


def _field_into(p: ProgEmitter, f: object, dest: ir.Value, t: Type, off: int, zero: bool) -> None:
    from pytrace.probes.target import TpField

    assert isinstance(f, TpField)
    if zero:
        p.zero(dest, t.size, off)
    if f.data_loc:
        loc = p.load_sized(p.ctx, f.offset, 4, False)
        start = p.b.and_(loc, c64(0xFFFF))
        src = p.b.gep(p.ctx, [start])
        size = t.length if isinstance(t, StrT) else t.size
        _field_ptr_read(p, p.at(dest, off), size, src, True, False)
    else:
        size = min(f.size, t.size)
        _field_ptr_read(p, p.at(dest, off), size, p.at(p.ctx, f.offset), False, False)


def _user_pointer(p: ProgEmitter, t: Type) -> bool:
    """Read through user memory for user pointers, and for any pointer (casts included)
    in probes whose pointers are user pointers (syscall tracepoints, uprobes, usdt)."""
    if isinstance(t, PtrT) and t.user:
        return True
    return p.target.user_pointers


def emit_into_direct(p: ProgEmitter, e: nodes.Expr, dest: ir.Value, t: Type, off: int, zero: bool) -> bool:
    """Write e's value straight into dest+off when that avoids a temporary buffer."""
    if isinstance(e, nodes.Identifier) and e.name == "comm" and isinstance(t, StrT) and t.length >= 16:
        if zero and t.size > 16:
            p.zero(dest, t.size - 16, off + 16)
        p.helper(h.GET_CURRENT_COMM, I64, [p.at(dest, off), c64(16)])
        return True
    if isinstance(e, nodes.Call) and e.name == "str" and isinstance(t, StrT) and e.args:
        src_t = p.type_of(e.args[0])
        if isinstance(src_t, StrT):
            p.store_into(p.expr(e.args[0]), dest, t, off)
            return True
        ptr = p.as_i64(p.expr(e.args[0]))
        own = p.type_of(e)
        length = min(t.length, own.length if isinstance(own, StrT) else t.length)
        if zero:
            p.zero(dest, t.size, off)
        _field_ptr_read(p, p.at(dest, off), length, p.b.inttoptr(ptr, P8), True, _user_pointer(p, src_t))
        return True
    if (isinstance(e, nodes.FieldAccess) and isinstance(e.expr, nodes.Identifier) and e.expr.name == "args"
            and not is_scalar(t)):
        f = p.target.field_named(e.field_name)
        if f is not None and (f.data_loc or f.array_len is not None):
            _field_into(p, f, dest, t, off, zero)
            return True
    return False


def read_pointer(p: ProgEmitter, val: Val, t: Type, node: nodes.Node) -> Val:
    buf = p.alloca_buf(8)
    p.store64(c64(0), buf)
    size = 8 if not isinstance(t, IntT) else t.bits // 8
    _field_ptr_read(p, buf, size, p.b.inttoptr(val.v, P8), False, _user_pointer(p, val.t))
    return Val(t if is_scalar(t) else U64, p.load64(buf))


# ------------------------------------------------------------------ functions
def emit_event(p: ProgEmitter, kind: str, args: list[nodes.Expr], fmt: str = "", map_name: str = "") -> None:
    types = [p.type_of(a) for a in args]
    spec = p.gen.events.add(kind, types, fmt, map_name)
    rb = p.map_ptr(p.gen.map_global("__ringbuf"))
    rec = p.helper(h.RINGBUF_RESERVE, P8, [rb, c64(spec.size), c64(0)])
    with p.b.if_else(p.not_null(rec)) as (ok, failed):
        with ok:
            p.store64(c64(spec.id), rec, 0)
            for a, f in zip(args, spec.args):
                p.emit_into(a, rec, f.type, f.offset, zero=False)
            p.helper(h.RINGBUF_SUBMIT, I64, [rec, c64(0)])
        with failed:
            slot = p.maps.array_slot(p.gen.map_global("__lost"), 0)
            with p.b.if_then(p.not_null(slot)):
                p.store64(p.b.add(p.load64(slot), c64(1)), slot)


def _printf(p: ProgEmitter, e: nodes.Call) -> Val:
    fmt = e.args[0]
    if not isinstance(fmt, nodes.Str):
        raise _err("printf: the format must be a string literal", e)
    emit_event(p, "printf", e.args[1:], fmt.value)
    return VOID


def _print(p: ProgEmitter, e: nodes.Call) -> Val:
    first = e.args[0]
    if isinstance(first, nodes.MapRef) and not first.keys:
        extra = e.args[1:3]
        emit_event(p, "print_map", extra, map_name=first.name)
    else:
        emit_event(p, "print_value", [first])
    return VOID


def _exit(p: ProgEmitter, e: nodes.Call) -> Val:
    if e.args:
        emit_event(p, "exit", [e.args[0]])
        p.b.ret(c64(0))
    else:
        zero = nodes.Int(0, span=e.span)
        p.checked.types[zero] = IntT()
        emit_event(p, "exit", [zero])
        p.b.ret(c64(0))  # like bpftrace, nothing after exit() runs
    return VOID


def _map_event(kind: str) -> Callable[[ProgEmitter, nodes.Call], Val]:
    def emit(p: ProgEmitter, e: nodes.Call) -> Val:
        m = e.args[0]
        assert isinstance(m, nodes.MapRef)
        emit_event(p, kind, [], map_name=m.name)
        return VOID

    return emit


def _delete(p: ProgEmitter, e: nodes.Call) -> Val:
    from pytrace.codegen.mapexpr import build_key

    m = e.args[0]
    assert isinstance(m, nodes.MapRef)
    keys = m.keys if len(e.args) == 1 else e.args[1:]
    if len(keys) == 1 and isinstance(keys[0], nodes.TupleExpr) and p.checked.maps[m.name].multi_key:
        keys = keys[0].elems
    if p.gen.map_spec(m.name).kind.is_array:
        # an array slot cannot be deleted (and BPF only writes this CPU's copy):
        # userspace clears it on every CPU
        emit_event(p, "clear", [], map_name=m.name)
        return VOID
    p.maps.delete(p.gen.map_global(m.name), build_key(p, m.name, keys))
    return VOID


def _has_key(p: ProgEmitter, e: nodes.Call) -> Val:
    from pytrace.codegen.mapexpr import build_key

    m = e.args[0]
    assert isinstance(m, nodes.MapRef)
    keys = e.args[1:]
    if len(keys) == 1 and isinstance(keys[0], nodes.TupleExpr) and p.checked.maps[m.name].multi_key:
        keys = keys[0].elems
    ptr = p.maps.lookup(p.gen.map_global(m.name), build_key(p, m.name, keys))
    return Val(IntT(), p.b.zext(p.not_null(ptr), I64))


def _str(p: ProgEmitter, e: nodes.Call) -> Val:
    t = p.type_of(e)
    buf = p.alloca_buf(t.size)
    emit_into_direct(p, e, buf, t, 0, True)
    return Val(t, buf)


def _time(p: ProgEmitter, e: nodes.Call) -> Val:
    fmt = e.args[0].value if e.args and isinstance(e.args[0], nodes.Str) else "%H:%M:%S\n"
    emit_event(p, "time", [], fmt)
    return VOID


def _builtin_call(name: str) -> Callable[[ProgEmitter, nodes.Call], Val]:
    def emit(p: ProgEmitter, e: nodes.Call) -> Val:
        return emit_identifier(p, nodes.Identifier(name, span=e.span))

    return emit


CALLS: dict[str, Callable[[ProgEmitter, nodes.Call], Val]] = {
    "printf": _printf,
    "print": _print,
    "exit": _exit,
    "clear": _map_event("clear"),
    "zero": _map_event("zero"),
    "delete": _delete,
    "has_key": _has_key,
    "str": _str,
    "time": _time,
}


def emit_call(p: ProgEmitter, e: nodes.Call) -> Val:
    fn = CALLS.get(e.name)
    if fn is not None:
        return fn(p, e)
    if e.name in IDENTIFIERS or e.name == "retval" or (e.name.startswith("arg") and e.name[3:].isdigit()):
        return _builtin_call(e.name)(p, e)
    if e.name in ("count", "sum", "min", "max", "avg", "stats", "hist", "lhist"):
        raise _err(f"{e.name}() should be directly assigned to a map", e)
    raise _err(f"{e.name}() is not supported yet", e)


# Extensions register more emitters into CALLS / IDENTIFIERS (one module each).
from pytrace.codegen import mapiter as _mapiter  # noqa: E402,F401
from pytrace.codegen import stacks as _stacks  # noqa: E402,F401
