"""IR for operations over string and byte buffers: length, comparison, search,
concatenation.

Every scan is a bpf_loop whose callback the verifier checks once (a simulated loop
over a max_strlen buffer would exceed its limit of 8192 jumps per path for strings of
a few kilobytes). A callback gets the loop index and a context struct on the caller's
stack holding the buffers' addresses and the results. Indexes are passed through an
empty inline asm after their bound check, so LLVM cannot fold the addition into the
pointer before the check (the verifier would then not know the bound). A needle is
compared on its first SEARCH_NEEDLE_MAX bytes at most.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace.codegen.base import I64, P8, P64, c64

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

BPF_LOOP = 181
LOOP_CB = ir.FunctionType(I64, [I64, P8])
SEARCH_NEEDLE_MAX = 1024  # the needle loop inside the search callback is simulated
ZERO8 = ir.Constant(ir.IntType(8), 0)


def _barrier(b: ir.IRBuilder, v: ir.Value) -> ir.Value:
    asm = ir.InlineAsm(ir.FunctionType(I64, [I64]), "", "=r,0", side_effect=True)
    return b.call(asm, [v])


class Callback:
    """One bpf_loop callback `long cb(u64 index, void *ctx)` being built."""

    def __init__(self, p: ProgEmitter, name: str) -> None:
        self.p = p
        module = p.module
        self.fn = ir.Function(module, LOOP_CB, module.get_unique_name(name))
        self.fn.linkage = "internal"
        self.fn.section = ".text"
        self.fn.attributes.add("nounwind")
        self.idx, self.ctx = self.fn.args
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))

    def slot(self, k: int) -> ir.Value:
        """The k-th u64 of the context, as i64*."""
        return self.b.bitcast(self.b.gep(self.ctx, [c64(8 * k)]), P64)

    def pointer(self, k: int) -> ir.Value:
        return self.b.inttoptr(self.b.load(self.slot(k), align=8), P8)

    def byte(self, ptr: ir.Value, index: ir.Value) -> ir.Value:
        """ptr[index] for an index already checked against the buffer's size."""
        return self.b.load(self.b.gep(ptr, [_barrier(self.b, index)]))

    def block(self, name: str) -> ir.Block:
        return self.fn.append_basic_block(name)

    def stop_unless(self, cond: ir.Value) -> None:
        """Return 1 (stop iterating) unless cond holds."""
        go = self.block("go")
        stop = self.block("stop")
        self.b.cbranch(cond, go, stop)
        ir.IRBuilder(stop).ret(c64(1))
        self.b.position_at_end(go)


def run_loop(p: ProgEmitter, count: int, values: list[ir.Value],
             build: Callable[[Callback], None], name: str) -> ir.Value:
    """bpf_loop(count, cb, ctx) where ctx holds `values` (i64 or pointers); `build`
    writes the callback's body. Returns the context (read results with load64)."""
    ctx = p.alloca_buf(8 * len(values), stack=True)  # bpf_loop wants stack memory
    for k, v in enumerate(values):
        p.store64(p.b.ptrtoint(v, I64) if isinstance(v.type, ir.PointerType) else v, ctx, 8 * k)
    cb = Callback(p, name)
    build(cb)
    p.helper(BPF_LOOP, I64, [c64(count), p.b.bitcast(cb.fn, P8), ctx, c64(0)])
    return ctx


def strlen(p: ProgEmitter, buf: ir.Value, cap: int) -> ir.Value:
    """Bytes before the first NUL within cap (cap when there is none)."""
    def body(cb: Callback) -> None:
        b = cb.b
        cb.stop_unless(b.icmp_unsigned("<", cb.idx, c64(cap)))
        c = cb.byte(cb.pointer(0), cb.idx)
        found = cb.block("nul")
        nxt = cb.block("next")
        b.cbranch(b.icmp_unsigned("==", c, ZERO8), found, nxt)
        b.position_at_end(found)
        b.store(cb.idx, cb.slot(1), align=8)
        b.ret(c64(1))
        b.position_at_end(nxt)
        b.ret(c64(0))

    ctx = run_loop(p, cap, [buf, c64(cap)], body, "pytrace_strlen_cb")
    return p.load64(ctx, 8)


def equal(p: ProgEmitter, a: ir.Value, la: int, bb: ir.Value, lb: int,
          n: int | None = None) -> ir.Value:
    """i1: the strings are equal up to their first NUL (or the first n bytes). A buffer
    without a NUL ends at its size, as if a NUL followed."""
    limit = min(la, lb) if n is None else min(la, lb, n)

    def body(cb: Callback) -> None:  # ctx: a, b, same, ended at a NUL
        b = cb.b
        cb.stop_unless(b.icmp_unsigned("<", cb.idx, c64(limit)))
        ca = cb.byte(cb.pointer(0), cb.idx)
        cbyte = cb.byte(cb.pointer(1), cb.idx)
        differ, same, nul, nxt = (cb.block(x) for x in ("differ", "same", "nul", "next"))
        b.cbranch(b.icmp_unsigned("!=", ca, cbyte), differ, same)
        b.position_at_end(differ)
        b.store(c64(0), cb.slot(2), align=8)
        b.ret(c64(1))
        b.position_at_end(same)
        b.cbranch(b.icmp_unsigned("==", ca, ZERO8), nul, nxt)
        b.position_at_end(nul)
        b.store(c64(1), cb.slot(3), align=8)
        b.ret(c64(1))
        b.position_at_end(nxt)
        b.ret(c64(0))

    ctx = run_loop(p, limit, [a, bb, c64(1), c64(0)], body, "pytrace_streq_cb")
    same = p.b.icmp_unsigned("!=", p.load64(ctx, 16), c64(0))
    if (n is None or limit < n) and la != lb:
        # every byte matched and no NUL was met: the longer one must end right here
        longer = a if la > lb else bb
        open_end = p.b.icmp_unsigned("==", p.load64(ctx, 24), c64(0))
        tail = p.b.icmp_unsigned("!=", p.load8(longer, limit), c64(0))
        same = p.b.and_(same, p.b.not_(p.b.and_(open_end, tail)))
    return same


def memcmp(p: ProgEmitter, a: ir.Value, bb: ir.Value, n: int) -> ir.Value:
    """i64: 0 when the first n bytes are equal, else left - right at the first
    difference (bytes compared unsigned)."""
    def body(cb: Callback) -> None:
        b = cb.b
        cb.stop_unless(b.icmp_unsigned("<", cb.idx, c64(n)))
        ca = b.zext(cb.byte(cb.pointer(0), cb.idx), I64)
        cbyte = b.zext(cb.byte(cb.pointer(1), cb.idx), I64)
        differ, nxt = cb.block("differ"), cb.block("next")
        b.cbranch(b.icmp_unsigned("!=", ca, cbyte), differ, nxt)
        b.position_at_end(differ)
        b.store(b.sub(ca, cbyte), cb.slot(2), align=8)
        b.ret(c64(1))
        b.position_at_end(nxt)
        b.ret(c64(0))

    ctx = run_loop(p, n, [a, bb, c64(0)], body, "pytrace_memcmp_cb")
    return p.load64(ctx, 16)


def _copy_body(src_len: int, size: int, offset_slot: bool) -> Callable[[Callback], None]:
    """Copy src (ctx[0]) into dest (ctx[1]) from dest offset ctx[2] until a NUL; the
    copied length is left in ctx[3]."""
    def body(cb: Callback) -> None:
        b = cb.b
        cb.stop_unless(b.icmp_unsigned("<", cb.idx, c64(src_len)))
        c = cb.byte(cb.pointer(0), cb.idx)
        end, more = cb.block("nul"), cb.block("copy")
        b.cbranch(b.icmp_unsigned("==", c, ZERO8), end, more)
        b.position_at_end(end)
        b.store(cb.idx, cb.slot(3), align=8)
        b.ret(c64(1))
        b.position_at_end(more)
        pos = b.add(b.load(cb.slot(2), align=8), cb.idx) if offset_slot else cb.idx
        cb.stop_unless(b.icmp_unsigned("<", pos, c64(size - 1)))
        b.store(c, b.gep(cb.pointer(1), [_barrier(b, pos)]))
        b.ret(c64(0))

    return body


def concat(p: ProgEmitter, dest: ir.Value, size: int, a: ir.Value, la: int, bb: ir.Value,
           lb: int) -> None:
    """dest (zeroed, `size` >= la + lb - 1 bytes) = a then b, up to their NULs."""
    assert size >= la + lb - 1
    p.zero(dest, size)
    first = run_loop(p, la, [a, dest, c64(0), c64(la)], _copy_body(la, size, False),
                     "pytrace_concat_cb")
    run_loop(p, lb, [bb, dest, p.load64(first, 24), c64(lb)], _copy_body(lb, size, True),
             "pytrace_concat_cb")


def _search_body(hay_len: int, needle_len: int) -> Callable[[Callback], None]:
    """Does the needle (ctx[1]) start at haystack[i] (ctx[0])? Sets ctx[2] = i and
    stops at the first match."""
    n = min(needle_len, SEARCH_NEEDLE_MAX)

    def body(cb: Callback) -> None:
        b = cb.b
        j_slot = b.alloca(I64, name="j")  # allocas belong in the entry block
        b.store(c64(0), j_slot)
        cb.stop_unless(b.icmp_unsigned("<", cb.idx, c64(hay_len)))
        hay, needle = cb.pointer(0), cb.pointer(1)
        names = ("cond", "body", "inside", "alive", "step", "found", "stop", "next")
        blocks = {x: cb.block(x) for x in names}
        b.branch(blocks["cond"])
        b.position_at_end(blocks["cond"])
        j = b.load(j_slot)
        b.cbranch(b.icmp_unsigned("<", j, c64(n)), blocks["body"], blocks["found"])
        b.position_at_end(blocks["body"])
        nc = cb.byte(needle, j)
        pos = b.add(cb.idx, j)
        b.cbranch(b.icmp_unsigned("==", nc, ZERO8), blocks["found"], blocks["inside"])
        b.position_at_end(blocks["inside"])
        b.cbranch(b.icmp_unsigned("<", pos, c64(hay_len)), blocks["alive"], blocks["stop"])
        b.position_at_end(blocks["alive"])
        hc = cb.byte(hay, pos)
        mismatch = b.or_(b.icmp_unsigned("==", hc, ZERO8), b.icmp_unsigned("!=", hc, nc))
        b.cbranch(mismatch, blocks["next"], blocks["step"])
        b.position_at_end(blocks["step"])
        b.store(b.add(j, c64(1)), j_slot)
        b.branch(blocks["cond"]).set_metadata("llvm.loop", cb.p._no_unroll())
        b.position_at_end(blocks["found"])
        b.store(cb.idx, cb.slot(2), align=8)
        b.ret(c64(1))
        b.position_at_end(blocks["stop"])
        b.ret(c64(1))
        b.position_at_end(blocks["next"])
        b.ret(c64(0))

    return body


def search(p: ProgEmitter, hay: ir.Value, hay_len: int, needle: ir.Value,
           needle_len: int) -> ir.Value:
    """i64: the index of the needle's first occurrence in the haystack, or -1."""
    ctx = run_loop(p, hay_len, [hay, needle, c64(-1)], _search_body(hay_len, needle_len),
                   "pytrace_strstr_cb")
    return p.load64(ctx, 16)
