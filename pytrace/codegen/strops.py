"""IR for operations over string and byte buffers: length, comparison, search,
concatenation, joining argv-style arrays.

Every loop has a constant bound (the buffers' sizes), so the verifier can prove it
ends; nested searches run their outer loop through bpf_loop, whose callback the
verifier checks once instead of once per iteration. Lengths that a later loop
depends on are passed through a helper first (`launder`), so the verifier does not
explore the second loop once per possible length.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace.codegen import helpers as h
from pytrace.codegen.base import I32, I64, P8, P64, c64

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

BPF_LOOP = 181
LOOP_CB = ir.FunctionType(I64, [I64, P8])


def strlen(p: ProgEmitter, buf: ir.Value, cap: int) -> ir.Value:
    """Bytes before the first NUL within cap (cap when there is none)."""
    b = p.b
    buf = p.opaque(buf)
    out = p.alloca_i64("len")
    b.store(c64(cap), out)
    with p.loop(cap) as (i, _cont, brk):
        with b.if_then(b.icmp_unsigned("==", p.load8(buf, i), c64(0))):
            b.store(i, out)
            b.branch(brk)
    return b.load(out)


def launder(p: ProgEmitter, value: ir.Value, cap: int) -> ir.Value:
    """`value` (known to be <= cap) as a number the verifier only knows to be in
    [0, cap]: read back through bpf_probe_read_kernel, then clamped."""
    b = p.b
    src, dst = p.alloca_buf(8), p.alloca_buf(8)
    p.store64(value, src)
    p.store64(c64(0), dst)
    p.helper(h.PROBE_READ_KERNEL, I64, [dst, ir.Constant(I32, 8), src])
    v = p.load64(dst)
    out = p.alloca_i64()
    b.store(v, out)
    with b.if_then(b.icmp_unsigned(">", v, c64(cap))):
        b.store(c64(cap), out)
    return b.load(out)


def equal(p: ProgEmitter, a: ir.Value, la: int, bb: ir.Value, lb: int, n: int | None = None) -> ir.Value:
    """i1: the strings are equal up to their first NUL (or the first n bytes). A buffer
    without a NUL ends at its size, as if a NUL followed."""
    b = p.b
    a, bb = p.opaque(a), p.opaque(bb)
    limit = min(la, lb) if n is None else min(la, lb, n)
    same = p.alloca_i64("same")
    b.store(c64(1), same)
    done = p.fn.append_basic_block("strcmp.done")
    with p.loop(limit) as (i, _cont, brk):
        ca, cb = p.load8(a, i), p.load8(bb, i)
        with b.if_then(b.icmp_unsigned("!=", ca, cb)):
            b.store(c64(0), same)
            b.branch(done)
        with b.if_then(b.icmp_unsigned("==", ca, c64(0))):
            b.branch(done)
    # every compared byte matched; the longer buffer must end here too
    if (n is None or limit < n) and la != lb:
        longer, at = (a, limit) if la > lb else (bb, limit)
        with b.if_then(b.icmp_unsigned("!=", p.load8(longer, at), c64(0))):
            b.store(c64(0), same)
    b.branch(done)
    b.position_at_end(done)
    return b.icmp_unsigned("!=", b.load(same), c64(0))


def memcmp(p: ProgEmitter, a: ir.Value, bb: ir.Value, n: int) -> ir.Value:
    """i64: 0 when the first n bytes are equal, else left - right at the first
    difference (bytes compared unsigned)."""
    b = p.b
    a, bb = p.opaque(a), p.opaque(bb)
    out = p.alloca_i64("cmp")
    b.store(c64(0), out)
    with p.loop(n) as (i, _cont, brk):
        ca, cb = p.load8(a, i), p.load8(bb, i)
        with b.if_then(b.icmp_unsigned("!=", ca, cb)):
            b.store(b.sub(ca, cb), out)
            b.branch(brk)
    return b.load(out)


def concat(p: ProgEmitter, dest: ir.Value, size: int, a: ir.Value, la: int, bb: ir.Value,
           lb: int) -> None:
    """dest (zeroed, `size` >= la + lb - 1 bytes) = a then b, up to their NULs."""
    assert size >= la + lb - 1
    b = p.b
    p.zero(dest, size)
    dest, a, bb = p.opaque(dest), p.opaque(a), p.opaque(bb)
    first = strlen(p, a, la)
    with p.loop(la) as (i, _cont, brk):
        with b.if_then(b.icmp_unsigned(">=", i, first)):
            b.branch(brk)
        p.store8(p.load8(a, i), dest, i)
    start = launder(p, first, la)
    # b has at most lb - 1 bytes before its NUL; start + j <= la + lb - 2 < size
    with p.loop(max(0, lb - 1)) as (j, _cont, brk):
        c = p.load8(bb, j)
        with b.if_then(b.icmp_unsigned("==", c, c64(0))):
            b.branch(brk)
        p.store8(c, dest, b.add(start, j))


def _search_callback(p: ProgEmitter, hay_len: int, needle_len: int) -> ir.Function:
    """long cb(u64 i, ctx): does the needle start at haystack[i]? ctx = {haystack*,
    needle*, result}; sets result = i and stops at the first match."""
    module = p.module
    fn = ir.Function(module, LOOP_CB, module.get_unique_name("pytrace_strstr_cb"))
    fn.linkage = "internal"
    fn.section = ".text"
    fn.attributes.add("nounwind")
    idx, ctx = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    hay = b.inttoptr(b.load(b.bitcast(ctx, P64), align=8), P8)
    needle = b.inttoptr(b.load(b.bitcast(b.gep(ctx, [c64(8)]), P64), align=8), P8)
    result = b.bitcast(b.gep(ctx, [c64(16)]), P64)
    found = fn.append_basic_block("found")
    stop = fn.append_basic_block("stop")
    nxt = fn.append_basic_block("next")
    start = fn.append_basic_block("start")
    b.cbranch(b.icmp_unsigned(">=", idx, c64(hay_len)), stop, start)
    b.position_at_end(start)
    for j in range(needle_len):
        nc = b.load(b.gep(needle, [c64(j)]))
        more = fn.append_basic_block(f"j{j}")
        b.cbranch(b.icmp_unsigned("==", nc, ir.Constant(ir.IntType(8), 0)), found, more)
        b.position_at_end(more)
        pos = b.add(idx, c64(j))
        inside = fn.append_basic_block(f"in{j}")
        b.cbranch(b.icmp_unsigned(">=", pos, c64(hay_len)), stop, inside)
        b.position_at_end(inside)
        hc = b.load(b.gep(hay, [pos]))
        alive = fn.append_basic_block(f"hc{j}")
        b.cbranch(b.icmp_unsigned("==", hc, ir.Constant(ir.IntType(8), 0)), stop, alive)
        b.position_at_end(alive)
        cont = fn.append_basic_block(f"eq{j}")
        b.cbranch(b.icmp_unsigned("!=", hc, nc), nxt, cont)
        b.position_at_end(cont)
    b.branch(found)
    b.position_at_end(found)
    b.store(idx, result, align=8)
    b.ret(c64(1))
    b.position_at_end(stop)
    b.ret(c64(1))
    b.position_at_end(nxt)
    b.ret(c64(0))
    return fn


def search(p: ProgEmitter, hay: ir.Value, hay_len: int, needle: ir.Value,
           needle_len: int) -> ir.Value:
    """i64: the index of the needle's first occurrence in the haystack, or -1."""
    ctx = p.alloca_buf(24, stack=True)  # bpf_loop wants its context on the stack
    p.store64(p.b.ptrtoint(hay, I64), ctx, 0)
    p.store64(p.b.ptrtoint(needle, I64), ctx, 8)
    p.store64(c64(-1), ctx, 16)
    cb = _search_callback(p, hay_len, needle_len)
    p.helper(BPF_LOOP, I64, [c64(hay_len), p.b.bitcast(cb, P8), ctx, c64(0)])
    return p.load64(ctx, 16)
