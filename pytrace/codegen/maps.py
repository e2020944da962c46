"""Map layouts (MapInfo -> MapSpec) and the IR for map lookups, updates and aggregations.

Aggregations live in per-CPU hashes updated in place: one lookup, then an add through
the returned pointer; the update helper runs only on a key's first use on a CPU.
"""

from __future__ import annotations

import os
import re

from llvmlite import ir

from pytrace.codegen import helpers as h
from pytrace.codegen.base import I64, P8, FnBase, c64
from pytrace.passes.context import MapInfo
from pytrace.resources import (
    DW_PIDS_MAP,
    DW_ROWS_MAP,
    DW_SCRATCH_MAP,
    DW_STACKS_MAP,
    DW_WARNED_MAP,
    GLOBAL_SLOTS,
    GLOBALS_MAP,
    LOST_MAP,
    RINGBUF_MAP,
    SCRATCH_MAP,
    STACKS_MAP,
    USTACK_PIDS_MAP,
    MapKind,
    MapSpec,
)
from pytrace.types import AggT, IntT, Type, hist_bucket_index  # noqa: F401  (reference for the IR)

DEFAULT_MAX_KEYS = 4096
HIST_MAX_KEYS = 16384
RINGBUF_BYTES = 1 << 20  # the smallest default ring buffer
BURST_RECORDS = 1_000_000  # the default ring buffer holds a burst of this many records
RINGBUF_MAX_DEFAULT = 64 << 20
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# Unkeyed aggregations whose value is never all-zero once written (a count, or a
# set-flag): userspace can tell an unwritten array slot from a written one.
ARRAY_AGGREGATIONS = ("count", "min", "max", "avg", "stats")

STACK_MAX_FRAMES = 127
STACK_MAX_IDS = 4096


def map_symbol(name: str) -> str:
    if name == "@":
        return "map__anon"
    return "map_" + re.sub(r"[^A-Za-z0-9_]", "_", name.lstrip("@"))


DECLARED_KINDS = {
    "hash": MapKind.HASH, "lruhash": MapKind.LRU_HASH, "percpuhash": MapKind.PERCPU_HASH,
    "percpulruhash": MapKind.LRU_PERCPU_HASH, "percpuarray": MapKind.PERCPU_ARRAY,
}


def _declared_spec(info: MapInfo, key_size: int) -> MapSpec:
    """The map a declaration asks for (`let @m = lruhash(100);`); a hist's buckets are
    keys of their own, so a histogram map holds N keys of 64 buckets each."""
    assert info.decl is not None
    kind = DECLARED_KINDS[info.decl.kind]
    vt = info.value_type
    n = info.decl.max_entries
    if kind == MapKind.PERCPU_ARRAY:
        return MapSpec(info.name, map_symbol(info.name), kind, 4, vt.size, n, info.key_type, vt)
    if isinstance(vt, AggT) and vt.is_bucketed:
        per_key = vt.buckets if vt.kind == "tseries" else 64
        return MapSpec(info.name, map_symbol(info.name), kind, key_size + 8, vt.size,
                       n * per_key, info.key_type, vt)
    return MapSpec(info.name, map_symbol(info.name), kind, key_size, max(8, vt.size), n,
                   info.key_type, vt)


def user_map_spec(info: MapInfo, max_keys: int = DEFAULT_MAX_KEYS) -> MapSpec:
    key_size = info.key_type.size if info.key_type is not None else 8
    vt = info.value_type
    if info.decl is not None:
        return _declared_spec(info, key_size)
    if isinstance(vt, AggT):
        if vt.is_bucketed:
            entries = max(HIST_MAX_KEYS, max_keys, vt.buckets * 64)
            return MapSpec(info.name, map_symbol(info.name), MapKind.PERCPU_HASH, key_size + 8,
                           vt.size, entries, info.key_type, vt)
        if info.key_type is None and vt.kind in ARRAY_AGGREGATIONS:
            # one per-CPU array slot: the verifier inlines the lookup, nothing to insert
            return MapSpec(info.name, map_symbol(info.name), MapKind.PERCPU_ARRAY, 4, vt.size, 1,
                           None, vt)
        return MapSpec(info.name, map_symbol(info.name), MapKind.PERCPU_HASH, key_size, vt.size,
                       max_keys, info.key_type, vt)
    return MapSpec(info.name, map_symbol(info.name), MapKind.HASH, key_size, max(8, vt.size),
                   max_keys, info.key_type, vt)


def _pow2_at_least(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _memory_cap() -> int:
    """A sixteenth of the memory available now, as a power of two (no cap if unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024 // 16
                    return 1 << max(0, avail.bit_length() - 1)
    except (OSError, ValueError, IndexError):
        pass
    return RINGBUF_MAX_DEFAULT


def default_ringbuf_bytes(burst_record: int) -> int:
    """pytrace's default ring buffer: room for a burst of BURST_RECORDS records of
    `burst_record` bytes (the largest record an attached probe sends; 0: none does),
    a power of two from 1 MiB to 64 MiB, and at most a sixteenth of available memory."""
    if burst_record <= 0:
        return RINGBUF_BYTES
    want = _pow2_at_least(BURST_RECORDS * ((burst_record + 15) & ~7))
    return max(RINGBUF_BYTES, min(want, RINGBUF_MAX_DEFAULT, _memory_cap()))


def ringbuf_bytes(pages: int, burst_record: int = 0) -> int:
    """The ring buffer's size: `perf_rb_pages` pages rounded up to a power of two (the
    kernel's rule), or the default (default_ringbuf_bytes) when it is 0."""
    if pages <= 0:
        return default_ringbuf_bytes(burst_record)
    return _pow2_at_least(pages * PAGE_SIZE)


def internal_map_specs(ring_bytes: int = RINGBUF_BYTES) -> list[MapSpec]:
    return [
        MapSpec(RINGBUF_MAP, map_symbol(RINGBUF_MAP), MapKind.RINGBUF, 0, 0, ring_bytes),
        MapSpec(LOST_MAP, map_symbol(LOST_MAP), MapKind.PERCPU_ARRAY, 4, 8, 1, None,
                IntT(64, False)),
        MapSpec(GLOBALS_MAP, map_symbol(GLOBALS_MAP), MapKind.ARRAY, 4, 8, GLOBAL_SLOTS, None,
                IntT(64, False)),
    ]


def scratch_map_spec(size: int, blocks: int) -> MapSpec:
    """Per-CPU memory for large values (one element per probe block)."""
    return MapSpec(SCRATCH_MAP, map_symbol(SCRATCH_MAP), MapKind.PERCPU_ARRAY, 4,
                   max(8, size), blocks)


def stack_map_spec() -> MapSpec:
    return MapSpec(STACKS_MAP, map_symbol(STACKS_MAP), MapKind.STACK_TRACE, 4, 8 * STACK_MAX_FRAMES,
                   STACK_MAX_IDS)


USTACK_PIDS_MAX = 4096


def ustack_pids_spec() -> MapSpec:
    """The processes a program took user stacks or addresses of (an LRU: old ones go)."""
    return MapSpec(USTACK_PIDS_MAP, map_symbol(USTACK_PIDS_MAP), MapKind.LRU_HASH, 8, 8,
                   USTACK_PIDS_MAX)


DW_PIDS_MAX = 64  # runtime/dwtables.MAX_PIDS
DW_WARNED_MAX = 1024


def dw_map_specs(limit: int) -> list[MapSpec]:
    """dw_ustack's maps (codegen/dwunwind.py); `limit`: the most frames any use keeps.
    __dw_rows has one entry here: the runtime sizes it to the tables it builds."""
    frames = 8 * limit
    return [
        MapSpec(DW_ROWS_MAP, map_symbol(DW_ROWS_MAP), MapKind.ARRAY, 4, 16, 1),
        MapSpec(DW_PIDS_MAP, map_symbol(DW_PIDS_MAP), MapKind.HASH, 8, 16, DW_PIDS_MAX),
        MapSpec(DW_STACKS_MAP, map_symbol(DW_STACKS_MAP), MapKind.HASH, 8, frames,
                STACK_MAX_IDS),
        MapSpec(DW_SCRATCH_MAP, map_symbol(DW_SCRATCH_MAP), MapKind.PERCPU_ARRAY, 4, frames, 1),
        MapSpec(DW_WARNED_MAP, map_symbol(DW_WARNED_MAP), MapKind.LRU_HASH, 8, 8,
                DW_WARNED_MAX),
    ]


def declare_map_global(module: ir.Module, spec: MapSpec) -> ir.GlobalVariable:
    gv = ir.GlobalVariable(module, I64, spec.symbol)
    gv.initializer = c64(0)
    gv.section = "maps"
    gv.align = 8
    return gv


class MapOps:
    """IR for map operations, used by the program emitter."""

    def __init__(self, fb: FnBase) -> None:
        self.fb = fb

    def lookup(self, gv: ir.GlobalVariable, key: ir.Value) -> ir.Value:
        fb = self.fb
        return fb.helper(h.MAP_LOOKUP_ELEM, P8, [fb.map_ptr(gv), key])

    def update(self, gv: ir.GlobalVariable, key: ir.Value, value: ir.Value, flags: int = h.BPF_ANY) -> None:
        fb = self.fb
        fb.helper(h.MAP_UPDATE_ELEM, I64, [fb.map_ptr(gv), key, value, c64(flags)])

    def delete(self, gv: ir.GlobalVariable, key: ir.Value) -> ir.Value:
        fb = self.fb
        return fb.helper(h.MAP_DELETE_ELEM, I64, [fb.map_ptr(gv), key])

    def array_slot(self, gv: ir.GlobalVariable, index: int) -> ir.Value:
        """Pointer to element `index` of an (per-CPU) array map; NULL-checked by caller."""
        fb = self.fb
        key = fb.alloca_buf(8)
        fb.store64(c64(index), key)
        return self.lookup(gv, key)

    def add_in_place(self, gv: ir.GlobalVariable, key: ir.Value, slots: list[ir.Value]) -> None:
        """Add each value to the i64 slot at the same index, inserting on first use."""
        fb = self.fb
        p = self.lookup(gv, key)
        with fb.b.if_else(fb.not_null(p)) as (found, missing):
            with found:
                for i, v in enumerate(slots):
                    fb.store64(fb.b.add(fb.load64(p, 8 * i), v), p, 8 * i)
            with missing:
                buf = fb.alloca_buf(8 * len(slots))
                for i, v in enumerate(slots):
                    fb.store64(v, buf, 8 * i)
                self.update(gv, key, buf, h.BPF_NOEXIST)

    def minmax(self, gv: ir.GlobalVariable, key: ir.Value, x: ir.Value, is_max: bool, signed: bool) -> None:
        """min/max slot layout: value, set-flag."""
        fb = self.fb
        b = fb.b
        p = self.lookup(gv, key)
        with b.if_else(fb.not_null(p)) as (found, missing):
            with found:
                cur = fb.load64(p, 0)
                unset = b.icmp_unsigned("==", fb.load64(p, 8), c64(0))
                op = ">" if is_max else "<"
                better = b.icmp_signed(op, x, cur) if signed else b.icmp_unsigned(op, x, cur)
                with b.if_then(b.or_(unset, better)):
                    fb.store64(x, p, 0)
                    fb.store64(c64(1), p, 8)
            with missing:
                buf = fb.alloca_buf(16)
                fb.store64(x, buf, 0)
                fb.store64(c64(1), buf, 8)
                self.update(gv, key, buf, h.BPF_NOEXIST)

    def atomic_add(self, gv: ir.GlobalVariable, key: ir.Value, delta: ir.Value, init: ir.Value) -> ir.Value:
        """Atomically add delta to an existing i64 value, or insert `init`; returns the old value."""
        fb = self.fb
        b = fb.b
        result = fb.alloca_i64()
        p = self.lookup(gv, key)
        with b.if_else(fb.not_null(p)) as (found, missing):
            with found:
                old = b.atomic_rmw("add", b.bitcast(p, ir.PointerType(I64)), delta, "seq_cst")
                b.store(old, result)
            with missing:
                buf = fb.alloca_buf(8)
                fb.store64(init, buf)
                self.update(gv, key, buf, h.BPF_ANY)
                b.store(b.sub(init, delta), result)
        return b.load(result)


def hist_index_ir(fb: FnBase, x: ir.Value, k: int) -> ir.Value:
    """IR computing types.hist_bucket_index(x, k) with llvm.ctlz (declared by hand)."""
    b = fb.b
    module = fb.module
    ctlz = module.globals.get("llvm.ctlz.i64")
    if ctlz is None:
        ctlz = ir.Function(module, ir.FunctionType(I64, [I64, ir.IntType(1)]), "llvm.ctlz.i64")
    mask = (1 << k) - 1
    result = fb.alloca_i64()
    neg = b.icmp_signed("<", x, c64(0))
    with b.if_else(neg) as (is_neg, nonneg):
        with is_neg:
            b.store(c64(0), result)
        with nonneg:
            small = b.icmp_signed("<=", x, c64(mask))
            with b.if_else(small) as (is_small, big):
                with is_small:
                    b.store(b.add(x, c64(1)), result)
                with big:
                    lz = b.call(ctlz, [x, ir.Constant(ir.IntType(1), 1)])
                    p = b.sub(c64(63), lz)
                    low = b.sub(p, c64(k))
                    hi = b.shl(b.add(low, c64(1)), c64(k))
                    sub = b.and_(b.lshr(x, low), c64(mask))
                    b.store(b.add(b.add(hi, sub), c64(1)), result)
    return b.load(result)


def lhist_index_ir(fb: FnBase, x: ir.Value, agg: AggT) -> ir.Value:
    """IR computing types.lhist_bucket_index."""
    b = fb.b
    result = fb.alloca_i64()
    top = 1 + (agg.lmax - agg.lmin) // agg.lstep
    below = b.icmp_signed("<", x, c64(agg.lmin))
    above = b.icmp_signed(">=", x, c64(agg.lmax))
    with b.if_else(below) as (lo, rest):
        with lo:
            b.store(c64(0), result)
        with rest:
            with b.if_else(above) as (hi, mid):
                with hi:
                    b.store(c64(top), result)
                with mid:
                    idx = b.add(b.udiv(b.sub(x, c64(agg.lmin)), c64(agg.lstep)), c64(1))
                    b.store(idx, result)
    return b.load(result)


def value_slots(t: Type) -> int:
    return max(1, t.size // 8)
