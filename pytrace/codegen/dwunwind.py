"""IR for dw_ustack: a user stack unwound with DWARF CFI rows (runtime/cfi.py) instead
of frame pointers, x86_64 only.

The probe reads the user registers (the uprobe's own context; otherwise the task's
saved user pt_regs, bpf_task_pt_regs(current)), looks up the process's table in
`__dw_pids` and runs one bpf_loop over the frames (at most the stack's limit). Each
frame records its address, finds its row by a binary search (a nested bpf_loop over
`__dw_rows`: the verifier checks each callback once), computes the CFA from rsp or rbp,
reads the return address at CFA-8 and, where the row says so, the caller's rbp. A STOP
row, a missing row, a failed read or a CFA that does not move up the stack ends it.

The addresses are kept in `__dw_scratch` (per CPU) and hashed as they are found; the
stack is stored once in `__dw_stacks` under `hash | DW_STACK_TAG` and the value is
(id, pid), as ustack's (stack id, pid), so printing, keys and modes are the same. A
process without a table gets its current frame only and one runtime warning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace.codegen import helpers as h
from pytrace.codegen.base import I16, I32, I64, P8, P64, c64
from pytrace.codegen.strops import BPF_LOOP, LOOP_CB, _barrier
from pytrace.codegen.values import Val
from pytrace.resources import (
    DW_PIDS_MAP,
    DW_ROWS_MAP,
    DW_SCRATCH_MAP,
    DW_STACK_TAG,
    DW_STACKS_MAP,
    DW_WARNED_MAP,
    EventKind,
)
from pytrace.types import IntT

if TYPE_CHECKING:
    from pytrace import nodes
    from pytrace.codegen.emitter import ProgEmitter

TASK_PT_REGS = 175
PT_REGS_BP, PT_REGS_IP, PT_REGS_SP = 32, 128, 152  # x86_64 struct pt_regs
REGS_CTX_KINDS = frozenset({"uprobe", "uretprobe", "usdt"})  # ctx is the user pt_regs
SEARCH_STEPS = 40  # binary search iterations: tables of up to 2**40 rows
FNV_BASIS, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
# frame loop context slots (u64)
IP, SP, BP, N, HASH, FIRST, COUNT, IPS, PC, LO, HI = range(11)
SLOTS = 11
NO_TABLE_WARNING = ("dw_ustack: no DWARF unwind table for process %d (give its pid with "
                    "-p, -c or --dwarf-pid); its stacks have the current frame only")


class _Fn:
    """A bpf_loop callback `long cb(u64 index, void *ctx)` with an entry block for allocas."""

    def __init__(self, module: ir.Module, name: str) -> None:
        self.fn = ir.Function(module, LOOP_CB, module.get_unique_name(name))
        self.fn.linkage = "internal"
        self.fn.section = ".text"
        self.fn.attributes.add("nounwind")
        self.idx, self.ctx = self.fn.args
        self.entry = ir.IRBuilder(self.fn.append_basic_block("entry"))
        body = self.fn.append_basic_block("body")
        self.b = ir.IRBuilder(body)
        self._body = body

    def close(self) -> None:
        self.entry.branch(self._body)

    def alloca(self, ty: ir.Type) -> ir.Value:
        slot = self.entry.alloca(ty)
        slot.align = 8
        return slot

    def slot(self, k: int) -> ir.Value:
        return self.b.bitcast(self.b.gep(self.ctx, [c64(8 * k)]), P64)

    def get(self, k: int) -> ir.Value:
        return self.b.load(self.slot(k), align=8)

    def put(self, k: int, v: ir.Value) -> None:
        self.b.store(v, self.slot(k), align=8)

    def helper(self, helper_id: int, ret: ir.Type, args: list[ir.Value]) -> ir.Value:
        fnty = ir.FunctionType(ret, [a.type for a in args])
        return self.b.call(self.b.inttoptr(c64(helper_id), ir.PointerType(fnty)), args)

    def stop_unless(self, cond: ir.Value) -> None:
        go = self.fn.append_basic_block("go")
        stop = self.fn.append_basic_block("stop")
        self.b.cbranch(cond, go, stop)
        ir.IRBuilder(stop).ret(c64(1))
        self.b.position_at_end(go)

    def row(self, rows: ir.GlobalVariable, index: ir.Value, key: ir.Value) -> ir.Value:
        """A pointer to __dw_rows[index] (stops the loop when the lookup fails)."""
        self.b.store(self.b.trunc(index, I32), key, align=4)
        ptr = self.helper(h.MAP_LOOKUP_ELEM, P8, [self.b.bitcast(rows, P8),
                                                   self.b.bitcast(key, P8)])
        self.stop_unless(self.b.icmp_unsigned("!=", self.b.ptrtoint(ptr, I64), c64(0)))
        return ptr


def _field(b: ir.IRBuilder, ptr: ir.Value, offset: int, ty: ir.IntType) -> ir.Value:
    p = b.bitcast(b.gep(ptr, [c64(offset)]), ir.PointerType(ty))
    v = b.load(p, align=min(8, ty.width // 8))
    return b.sext(v, I64) if ty.width < 64 else v


def _search_callback(module: ir.Module, rows: ir.GlobalVariable) -> ir.Function:
    """ctx[LO] = the first row in [LO, HI) whose pc is above ctx[PC]: one step per call."""
    cb = _Fn(module, "pytrace_dw_search_cb")
    key = cb.alloca(I32)
    b = cb.b
    lo, hi = cb.get(LO), cb.get(HI)
    cb.stop_unless(b.icmp_unsigned("<", lo, hi))
    mid = b.lshr(b.add(lo, hi), c64(1))
    row = cb.row(rows, mid, key)
    above = b.icmp_unsigned(">", _field(b, row, 0, I64), cb.get(PC))
    with b.if_else(above) as (then, other):
        with then:
            cb.put(HI, mid)
        with other:
            cb.put(LO, b.add(mid, c64(1)))
    b.ret(c64(0))
    cb.close()
    return cb.fn


def _frame_callback(p: ProgEmitter, limit: int) -> ir.Function:
    """One frame: record ctx[IP], find its row, step to the caller's registers."""
    rows = p.gen.map_global(DW_ROWS_MAP)
    search = _search_callback(p.module, rows)
    cb = _Fn(p.module, "pytrace_dw_frame_cb")
    key = cb.alloca(I32)
    word = cb.alloca(I64)
    b = cb.b
    ip = cb.get(IP)
    cb.stop_unless(b.icmp_unsigned("!=", ip, c64(0)))
    cb.stop_unless(b.icmp_unsigned("<", cb.idx, c64(limit)))
    ips = b.inttoptr(cb.get(IPS), P64)
    b.store(ip, b.gep(ips, [_barrier(b, cb.idx)]), align=8)
    cb.put(N, b.add(cb.idx, c64(1)))
    cb.put(HASH, b.mul(b.xor(cb.get(HASH), ip), c64(FNV_PRIME)))
    first, count = cb.get(FIRST), cb.get(COUNT)
    cb.stop_unless(b.icmp_unsigned("!=", count, c64(0)))
    # a return address is after its call: look the call itself up
    is_top = b.icmp_unsigned("==", cb.idx, c64(0))
    cb.put(PC, b.select(is_top, ip, b.sub(ip, c64(1))))
    cb.put(LO, first)
    cb.put(HI, b.add(first, count))
    cb.helper(BPF_LOOP, I64, [c64(SEARCH_STEPS), b.bitcast(search, P8), cb.ctx, c64(0)])
    found = cb.get(LO)
    cb.stop_unless(b.icmp_unsigned(">", found, first))
    row = cb.row(rows, b.sub(found, c64(1)), key)
    kind = b.zext(b.load(b.gep(row, [c64(14)])), I64)
    cb.stop_unless(b.icmp_unsigned("!=", kind, c64(0)))
    sp, bp = cb.get(SP), cb.get(BP)
    base = b.select(b.icmp_unsigned("==", kind, c64(1)), sp, bp)
    cfa = b.add(base, _field(b, row, 8, I32))
    cb.stop_unless(b.icmp_unsigned(">", cfa, sp))  # the stack only grows up when unwinding
    wp = b.bitcast(word, P8)
    read = cb.helper(h.PROBE_READ_USER, I64, [wp, ir.Constant(I32, 8),
                                              b.inttoptr(b.sub(cfa, c64(8)), P8)])
    cb.stop_unless(b.icmp_signed("==", read, c64(0)))
    cb.put(IP, b.load(word, align=8))
    cb.put(SP, cfa)
    rbp_off = _field(b, row, 12, I16)
    with b.if_then(b.icmp_unsigned("!=", rbp_off, c64(0))):
        got = cb.helper(h.PROBE_READ_USER, I64, [wp, ir.Constant(I32, 8),
                                                 b.inttoptr(b.add(cfa, rbp_off), P8)])
        cb.put(BP, b.select(b.icmp_signed("==", got, c64(0)), b.load(word, align=8), c64(0)))
    b.ret(c64(0))
    cb.close()
    return cb.fn


def _user_regs(p: ProgEmitter, ctx: ir.Value) -> None:
    """ip, sp and bp of the interrupted user code into ctx[IP], ctx[SP], ctx[BP]."""
    if p.target.kind in REGS_CTX_KINDS:
        for slot, off in ((IP, PT_REGS_IP), (SP, PT_REGS_SP), (BP, PT_REGS_BP)):
            p.store64(p.load64(p.ctx, off), ctx, 8 * slot)
        return
    for slot in (IP, SP, BP):
        p.store64(c64(0), ctx, 8 * slot)
    task = p.helper(h.GET_CURRENT_TASK_BTF, P8, [])
    regs = p.helper(TASK_PT_REGS, P8, [task])
    for slot, off in ((IP, PT_REGS_IP), (SP, PT_REGS_SP), (BP, PT_REGS_BP)):
        p.helper(h.PROBE_READ_KERNEL, I64, [p.at(ctx, 8 * slot), ir.Constant(I32, 8),
                                            p.at(regs, off)])


def _warn_once(p: ProgEmitter, pid: ir.Value, node: nodes.Node) -> None:
    """The runtime warning for a process without a table, once per process."""
    if p.checked.options.warning_level <= 0:
        return
    warned = p.gen.map_global(DW_WARNED_MAP)
    key = p.alloca_buf(8)
    p.store64(pid, key)
    with p.b.if_then(p.is_null(p.maps.lookup(warned, key))):
        zero = p.alloca_buf(8)
        p.store64(c64(0), zero)
        ret = p.helper(h.MAP_UPDATE_ELEM, I64, [p.map_ptr(warned), key, zero,
                                                c64(h.BPF_NOEXIST)])
        with p.b.if_then(p.b.icmp_signed("==", ret, c64(0))):
            p.event(EventKind.WARNF, [Val(IntT(64, False), pid)], NO_TABLE_WARNING, node=node)


def emit_dw_ustack(p: ProgEmitter, node: nodes.Node, limit: int,
                   pid: ir.Value) -> tuple[ir.Value, ir.Value]:
    """The 16-byte (id, pid) of the current user stack, unwound with CFI, and the
    number of frames found (an i64)."""
    b = p.b
    out = p.alloca_buf(16)
    p.store64(c64(-1), out, 0)
    p.store64(c64(0), out, 8)
    depth = p.alloca_i64()
    b.store(c64(0), depth)
    ctx = p.alloca_buf(8 * SLOTS, stack=True)  # bpf_loop wants stack memory
    _user_regs(p, ctx)
    for slot in (N, FIRST, COUNT):
        p.store64(c64(0), ctx, 8 * slot)
    p.store64(c64(FNV_BASIS), ctx, 8 * HASH)
    key = p.alloca_buf(8)
    p.store64(pid, key)
    info = p.maps.lookup(p.gen.map_global(DW_PIDS_MAP), key)
    with b.if_else(p.is_null(info)) as (missing, found):
        with missing:  # (kernel threads have no user code: no warning)
            with b.if_then(b.icmp_unsigned("!=", p.load64(ctx, 8 * IP), c64(0))):
                _warn_once(p, pid, node)
        with found:
            p.store64(p.load64(info, 0), ctx, 8 * FIRST)
            p.store64(p.load64(info, 8), ctx, 8 * COUNT)
    zero = p.alloca_buf(8)
    b.store(ir.Constant(I32, 0), b.bitcast(zero, ir.PointerType(I32)), align=4)
    ips = p.maps.lookup(p.gen.map_global(DW_SCRATCH_MAP), zero)
    with b.if_then(p.not_null(ips)):
        p.store64(b.ptrtoint(ips, I64), ctx, 8 * IPS)
        frame = _frame_callback(p, limit)
        p.helper(BPF_LOOP, I64, [c64(limit), b.bitcast(frame, P8), ctx, c64(0)])
        n = p.load64(ctx, 8 * N)
        b.store(n, depth)
        with b.if_then(b.icmp_unsigned("!=", n, c64(0))):
            with b.if_then(b.icmp_unsigned("<", n, c64(limit))):
                b.store(c64(0), b.gep(b.bitcast(ips, P64), [_barrier(b, n)]), align=8)
            sid = b.or_(b.lshr(p.load64(ctx, 8 * HASH), c64(2)), c64(DW_STACK_TAG))
            p.store64(sid, key)
            stacks = p.gen.map_global(DW_STACKS_MAP)
            with b.if_then(p.is_null(p.maps.lookup(stacks, key))):
                p.maps.update(stacks, key, ips, h.BPF_NOEXIST)
            p.store64(sid, out, 0)
            p.store64(pid, out, 8)
    return out, b.load(depth)

