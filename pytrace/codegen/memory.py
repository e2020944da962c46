"""IR for reading C memory: struct fields (`p->f`, `p.f`, `s.f`), array elements
(`a[i]`, `p[i]`), `*p`, `&x`, and array casts (`(int8[4])x`, `(uint32)arr`).

A chain of fields and elements reached from a pointer is turned into one address
(`curtask->se.vruntime` reads 8 bytes at curtask + both offsets); only the last step
reads memory, with bpf_probe_read_kernel or _user as the base pointer's address space
says. Structs and arrays are read whole into stack buffers (their C image), scalars
are extended to 64 bits, bitfields shifted and masked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace import nodes
from pytrace.codegen.base import I64, P8, c64
from pytrace.codegen.errors import CodegenError
from pytrace.codegen.fields import probe_read, user_pointer
from pytrace.codegen.values import Val, is_scalar
from pytrace.types import ArrayT, BitfieldT, IntT, PtrT, StrT, StructT, Type

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter


def _complete(p: ProgEmitter, t: Type | None) -> Type | None:
    return p.checked.type_table.complete(t) if t is not None else None


def member(p: ProgEmitter, struct_t: Type, name: str, node: nodes.Node) -> tuple[Type, int]:
    """(declared member type, byte offset) of `name` in a struct (or a pointee)."""
    s = _complete(p, struct_t.pointee if isinstance(struct_t, PtrT) else struct_t)
    found = s.field(name) if isinstance(s, StructT) else None
    if found is None:
        raise CodegenError(f"internal: no field {name} in {struct_t}", node)
    return found


def elem_size(p: ProgEmitter, t: Type | None) -> int:
    """The C size of one element a pointer or array steps over (void: 1 byte)."""
    t = _complete(p, t)
    return max(1, t.csize) if t is not None else 1


def address(p: ProgEmitter, e: nodes.Expr) -> tuple[ir.Value, bool] | None:
    """(i64 address, user memory) of the memory `e` names, when it is reached through
    a pointer; None for values that live in a buffer or a register."""
    if isinstance(e, nodes.Unary) and e.op == "*":
        t = p.type_of(e.operand)
        if isinstance(t, PtrT | IntT):
            return p.as_i64(p.expr(e.operand)), user_pointer(p, t)
        return None
    if isinstance(e, nodes.FieldAccess) and not _is_args(e):
        base_t = p.type_of(e.expr)
        _, off = member(p, base_t, e.field_name, e)
        base = _base_address(p, e.expr, base_t)
        if base is None:
            return None
        return p.b.add(base[0], c64(off)), base[1]
    if isinstance(e, nodes.Index):
        base_t = p.type_of(e.expr)
        if isinstance(base_t, PtrT):
            size = elem_size(p, base_t.pointee)
        elif isinstance(base_t, ArrayT):
            size = elem_size(p, base_t.elem)
        else:
            return None
        base = _base_address(p, e.expr, base_t)
        if base is None:
            return None
        idx = p.as_i64(p.expr(e.index))
        return p.b.add(base[0], p.b.mul(idx, c64(size))), base[1]
    return None


def _base_address(p: ProgEmitter, e: nodes.Expr, t: Type) -> tuple[ir.Value, bool] | None:
    """The address a field or element is relative to: a pointer's value, or the address
    of a struct/array that itself lives in memory."""
    if isinstance(t, PtrT):
        return p.as_i64(p.expr(e)), user_pointer(p, t)
    return address(p, e)


def _is_args(e: nodes.FieldAccess) -> bool:
    return isinstance(e.expr, nodes.Identifier) and e.expr.name == "args"


def read(p: ProgEmitter, addr: ir.Value, user: bool, t: Type, declared: Type,
         node: nodes.Node | None = None) -> Val:
    """Read a value of type t (declared in memory as `declared`) at addr; with -k a
    failed read is reported at `node`."""
    if isinstance(declared, BitfieldT):
        buf = p.alloca_buf(8)
        p.store64(c64(0), buf)
        probe_read(p, buf, declared.load_size, p.b.inttoptr(addr, P8), False, user, node)
        word = p.b.lshr(p.load64(buf), c64(declared.bit_offset))
        bits = declared.bit_size
        if declared.signed and bits < 64:
            word = p.b.ashr(p.b.shl(word, c64(64 - bits)), c64(64 - bits))
        elif bits < 64:
            word = p.b.and_(word, c64((1 << bits) - 1))
        return Val(t, word)
    if is_scalar(t):
        size = declared.csize if declared.csize in (1, 2, 4, 8) else 8
        buf = p.alloca_buf(8)
        p.store64(c64(0), buf)
        probe_read(p, buf, size, p.b.inttoptr(addr, P8), False, user, node)
        signed = isinstance(declared, IntT) and declared.signed
        return Val(t, p.load_sized(buf, 0, size, signed))
    size = t.length if isinstance(t, StrT) else t.csize
    buf = p.alloca_buf(t.size)
    p.zero(buf, t.size)
    if size:
        probe_read(p, buf, min(size, t.size), p.b.inttoptr(addr, P8), False, user, node)
    return Val(t, buf)


def from_buffer(p: ProgEmitter, buf: ir.Value, off: int, t: Type, declared: Type) -> Val:
    """A member at `off` of a struct or array image held in a stack buffer."""
    if isinstance(declared, BitfieldT):
        word = p.load_sized(buf, off, declared.load_size, False)
        word = p.b.lshr(word, c64(declared.bit_offset))
        bits = declared.bit_size
        if declared.signed:
            return Val(t, p.b.ashr(p.b.shl(word, c64(64 - bits)), c64(64 - bits)))
        return Val(t, p.b.and_(word, c64((1 << bits) - 1)) if bits < 64 else word)
    if is_scalar(t):
        size = declared.csize if declared.csize in (1, 2, 4, 8) else 8
        signed = isinstance(declared, IntT) and declared.signed
        return Val(t, p.load_sized(buf, off, size, signed))
    size = min(t.length if isinstance(t, StrT) else t.csize, t.size)
    if off % 8 == 0:  # the image's own words (it is padded to 8 too)
        return Val(t, p.at(buf, off))
    out = p.alloca_buf(t.size)
    p.zero(out, t.size)
    for i in range(size):  # an unaligned member: byte by byte
        p.b.store(p.b.load(p.at(buf, off + i)), p.at(out, i))
    return Val(t, out)


def field(p: ProgEmitter, e: nodes.FieldAccess) -> Val:
    """`x.f` / `x->f` on a struct value or a pointer to one."""
    t = p.type_of(e)
    base_t = p.type_of(e.expr)
    declared, off = member(p, base_t, e.field_name, e)
    where = address(p, e)
    if where is not None:
        return read(p, where[0], where[1], t, declared, e)
    base = p.expr(e.expr)
    return from_buffer(p, base.v, off, t, declared)


def index(p: ProgEmitter, e: nodes.Index) -> Val:
    """`a[i]` on an array (in memory or in a buffer), a string, or a pointer."""
    t = p.type_of(e)
    base_t = p.type_of(e.expr)
    declared = base_t.elem if isinstance(base_t, ArrayT) else (
        base_t.pointee if isinstance(base_t, PtrT) else IntT(8, True))
    declared = _complete(p, declared) or t
    where = address(p, e)
    if where is not None:
        return read(p, where[0], where[1], t, declared, e)
    base = p.expr(e.expr)
    count = base_t.count if isinstance(base_t, ArrayT) else (
        base_t.length if isinstance(base_t, StrT) else 1)
    step = declared.csize if isinstance(base_t, ArrayT) else 1
    idx = p.as_i64(p.expr(e.index))
    const = p.checked.constants.get(e.index)
    if isinstance(e.index, nodes.Int) or isinstance(const, int):
        n = e.index.value if isinstance(e.index, nodes.Int) else int(const)  # type: ignore[arg-type]
        return from_buffer(p, base.v, n * step, t, declared)
    out = p.alloca_i64()
    p.b.store(c64(0), out)
    for n in range(count):  # a variable index into a stack buffer: one case per element
        with p.b.if_then(p.b.icmp_unsigned("==", idx, c64(n))):
            v = from_buffer(p, base.v, n * step, t, declared)
            if is_scalar(t):
                p.b.store(v.v, out)
    return Val(t, p.b.load(out))


def deref(p: ProgEmitter, e: nodes.Unary) -> Val:
    """`*p`: the pointee, read whole."""
    t = p.type_of(e)
    pt = p.type_of(e.operand)
    declared = _complete(p, pt.pointee) if isinstance(pt, PtrT) else None
    where = address(p, e)
    assert where is not None
    if declared is None or not (is_scalar(declared) or isinstance(declared, StructT | ArrayT
                                                                  | StrT)):
        declared = IntT(64, False)
    return read(p, where[0], where[1], t, declared, e)


def address_of(p: ProgEmitter, e: nodes.Unary) -> Val:
    """`&x`: a field/element's address, or a variable's stack address."""
    t = p.type_of(e)
    where = address(p, e.operand)
    if where is not None:
        return Val(t, where[0])
    if isinstance(e.operand, nodes.Variable):
        _, slot = p.var_slot(e.operand.name, e.operand)
        return Val(t, p.b.ptrtoint(slot, I64))
    val = p.expr(e.operand)
    buf = p.materialize(val)
    return Val(t, p.b.ptrtoint(buf, I64))


def array_cast(p: ProgEmitter, e: nodes.Cast, val: Val) -> Val:
    """`(int8[4])x` and `(uint32)arr`: the same bytes seen as another type."""
    t = p.type_of(e)
    if isinstance(t, ArrayT):
        buf = p.alloca_buf(t.size)
        p.zero(buf, t.size)
        if val.scalar:
            p.store64(val.v, buf)  # little-endian: the low bytes first
            if t.size > 8:
                p.zero(buf, t.size - 8, 8)
            if t.csize < 8:  # keep the padding zero (equal arrays are equal bytes)
                mask = (1 << (8 * t.csize)) - 1
                p.store64(p.b.and_(val.v, c64(mask)), buf)
        else:
            p.copy(buf, val.v, min(val.t.size, t.size))
        return Val(t, buf)
    assert isinstance(t, IntT)
    return Val(t, p.load_sized(val.v, 0, t.csize, t.signed))


def array_equal(p: ProgEmitter, a: Val, b: Val) -> ir.Value:
    """i1: two array images are equal (their padding is zero)."""
    size = min(a.t.size, b.t.size)
    result: ir.Value = ir.Constant(ir.IntType(1), 1)
    for off in range(0, size, 8):
        result = p.b.and_(result, p.b.icmp_unsigned("==", p.load64(a.v, off),
                                                     p.load64(b.v, off)))
    return result
