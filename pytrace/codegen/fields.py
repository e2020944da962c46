"""IR for memory the program reads: tracepoint fields (`args.f`) and pointers (`*p`,
`str(p)`), through bpf_probe_read_{kernel,user}[_str] in the right address space."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace import nodes
from pytrace.codegen import helpers as h
from pytrace.codegen.base import I32, I64, P8, c64
from pytrace.codegen.errors import CodegenError
from pytrace.codegen.values import Val, is_scalar
from pytrace.probes.target import TpField
from pytrace.types import IntT, PtrT, StrT, Type

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

U64 = IntT(64, False)


HELPER_NAMES = {h.PROBE_READ_USER_STR: "probe_read_user_str",
                h.PROBE_READ_KERNEL_STR: "probe_read_kernel_str",
                h.PROBE_READ_USER: "probe_read_user", h.PROBE_READ_KERNEL: "probe_read_kernel"}


def probe_read(p: ProgEmitter, dest: ir.Value, size: int | ir.Value, src: ir.Value,
               string: bool, user: bool, node: nodes.Node | None = None) -> ir.Value:
    """Copy `size` bytes (a NUL-terminated string when `string`) from src into dest;
    with -k a failure is reported at `node`. Returns the helper's result."""
    if string:
        hid = h.PROBE_READ_USER_STR if user else h.PROBE_READ_KERNEL_STR
    else:
        hid = h.PROBE_READ_USER if user else h.PROBE_READ_KERNEL
    n = ir.Constant(I32, size) if isinstance(size, int) else p.b.trunc(size, I32)
    ret = p.helper(hid, I64, [dest, n, src])
    if node is not None:
        p.check_helper(ret, HELPER_NAMES[hid], node)
    return ret


def user_pointer(p: ProgEmitter, t: Type) -> bool:
    """Read through user memory for user pointers, and for any pointer (casts included)
    in probes whose pointers are user pointers (syscall tracepoints, uprobes, usdt)."""
    if isinstance(t, PtrT) and (t.user or t.kernel):
        return t.user
    return p.target.user_pointers


def is_args_field(e: nodes.Expr) -> bool:
    return isinstance(e, nodes.FieldAccess) and isinstance(e.expr, nodes.Identifier) \
        and e.expr.name == "args"


def _field(p: ProgEmitter, e: nodes.FieldAccess) -> TpField:
    if not is_args_field(e):
        raise CodegenError("field access is only supported on args yet", e)
    f = p.target.field_named(e.field_name)
    if f is None:
        raise CodegenError(f"{p.target.name} has no field {e.field_name}", e)
    return f


def emit_field(p: ProgEmitter, e: nodes.FieldAccess) -> Val:
    if not is_args_field(e):
        raise CodegenError("internal: struct fields are read by codegen.memory", e)
    t = p.type_of(e)
    if p.target.kind == "rawtracepoint":  # the context is u64 args[]
        from pytrace.builtins.args import rawtracepoint_arg

        found = rawtracepoint_arg(p.target, e.field_name, p.checked.type_table)
        if found is None:
            raise CodegenError(f"{p.target.name} has no argument {e.field_name}", e)
        v = p.load64(p.ctx, 8 * found[0])
        if isinstance(t, IntT) and t.bits < 64:
            v = p.load_sized(p.ctx, 8 * found[0], t.bits // 8, t.signed)
        return Val(t, v)
    if p.target.kind == "uprobe":
        return _uprobe_field(p, e, t)
    if p.target.kind in ("fentry", "fexit"):
        return function_arg(p, e.field_name, t, e)
    f = _field(p, e)
    if is_scalar(t):
        return Val(t, field_scalar(p, f))
    buf = p.alloca_buf(t.size)
    field_into(p, f, buf, t, 0, zero=True)
    return Val(t, buf)


PT_REGS_ARGS = (112, 104, 96, 88, 72, 64)  # x86_64 pt_regs: di si dx cx r8 r9
PT_REGS_SP = 152


def _uprobe_field(p: ProgEmitter, e: nodes.FieldAccess, t: Type) -> Val:
    """A uprobe's parameter: its register (or stack slot), cut to the DWARF type."""
    from pytrace.builtins.args import uprobe_arg

    found = uprobe_arg(p.target, e.field_name)
    if found is None:
        raise CodegenError(f"{p.target.name} has no parameter {e.field_name}", e)
    n = found[0]
    if n < len(PT_REGS_ARGS):
        raw = p.load64(p.ctx, PT_REGS_ARGS[n])
    else:  # on the stack, above the return address
        slot = p.alloca_buf(8)
        p.store64(c64(0), slot)
        addr = p.b.add(p.load64(p.ctx, PT_REGS_SP), c64(8 * (n - len(PT_REGS_ARGS) + 1)))
        p.probe_read(slot, 8, p.b.inttoptr(addr, P8), False, True)
        raw = p.load64(slot)
    if isinstance(t, IntT) and t.bits < 64:
        cut = p.b.trunc(raw, ir.IntType(t.bits))
        raw = p.b.sext(cut, I64) if t.signed else p.b.zext(cut, I64)
    return Val(t, raw)
def function_arg(p: ProgEmitter, name: str, t: Type, node: nodes.Expr) -> Val:
    """A parameter (or `retval`) of the function an fentry/fexit probe is attached to:
    the trampoline's context is an array of u64, one word per parameter (two for a
    struct of 9..16 bytes passed by value), the return value after them."""
    from pytrace.builtins.args import function_arg as locate

    found = locate(p.target, name, p.checked.type_table)
    if found is None:
        raise CodegenError(f"{p.target.name} has no parameter {name}", node)
    off = found[0]
    if not is_scalar(t):  # a struct passed by value: its words are copied out
        buf = p.alloca_buf(t.size)
        p.zero(buf, t.size)
        for i in range(0, min(t.csize, t.size), 8):
            p.store64(p.load64(p.ctx, off + i), p.at(buf, i))
        return Val(t, buf)
    word = p.load64(p.ctx, off)
    if isinstance(t, IntT) and t.bits < 64:  # the callee's value is as wide as its type
        narrow = p.b.trunc(word, ir.IntType(t.bits))
        word = p.b.sext(narrow, I64) if t.signed else p.b.zext(narrow, I64)
    return Val(t, word)


def field_scalar(p: ProgEmitter, f: TpField) -> ir.Value:
    """An integer or pointer tracepoint field, extended to i64."""
    size = f.size if f.size in (1, 2, 4, 8) else 8
    return p.load_sized(p.ctx, f.offset, size, f.signed)


def field_into(p: ProgEmitter, f: TpField, dest: ir.Value, t: Type, off: int,
               zero: bool) -> None:
    """A string or array field copied straight into dest+off."""
    if zero:
        p.zero(dest, t.size, off)
    if f.data_loc:
        loc = p.load_sized(p.ctx, f.offset, 4, False)
        start = p.b.and_(loc, c64(0xFFFF))
        src = p.b.gep(p.ctx, [start])
        size = t.length if isinstance(t, StrT) else t.size
        probe_read(p, p.at(dest, off), size, src, True, False)
    else:
        size = min(f.size, t.size)
        probe_read(p, p.at(dest, off), size, p.at(p.ctx, f.offset), False, False)


def field_into_direct(p: ProgEmitter, e: nodes.Expr, dest: ir.Value, t: Type, off: int,
                      zero: bool) -> bool:
    """Write a string/array tracepoint field straight into dest (no temporary)."""
    if not is_args_field(e) or is_scalar(t):
        return False
    assert isinstance(e, nodes.FieldAccess)
    f = p.target.field_named(e.field_name)
    if f is None or not (f.data_loc or f.array_len is not None):
        return False
    field_into(p, f, dest, t, off, zero)
    return True


def read_pointer(p: ProgEmitter, val: Val, t: Type) -> Val:
    """*ptr: the pointee (an integer of t's width, or 8 bytes)."""
    buf = p.alloca_buf(8)
    p.store64(c64(0), buf)
    size = 8 if not isinstance(t, IntT) else t.bits // 8
    probe_read(p, buf, size, p.b.inttoptr(val.v, P8), False, user_pointer(p, val.t))
    return Val(t if is_scalar(t) else U64, p.load64(buf))
